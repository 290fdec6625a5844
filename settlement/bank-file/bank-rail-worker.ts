import { LockUnavailableError } from '../../runtime/errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { Logger } from '../../runtime/logger';
import { PeriodicTask } from '../../runtime/periodic-task';
import type { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import type { Knex } from '../../runtime/db/knex';
import { ingestBankReports } from './bank-status-ingest';
import { sendBankFiles } from './bank-sender';

/**
 * The bank-file rail as `sts run all` runs it: every `intervalMs`, send what is PENDING (payouts
 * an operator released, a close's files that a crash left unsent) and apply the bank's reports
 * that arrived. Any number of instances may run it: the sender takes a lease and one that finds
 * it taken skips the turn; each report is applied once whoever reads it. A failed turn is
 * logged and the next one tries again; nothing is lost meanwhile (files and reports wait).
 */
export interface BankRailDeps {
  db: Knex;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  dataDir: string;
  /** Where payout and bank files are written (STS_PAYOUT_FILES_DIR); default dataDir. */
  payoutFilesDir?: string;
  outboundDir: string;
  inboundDir: string;
  environment: string;
  logger: Logger;
  resultsTopic?: string;
}

export class BankRailWorker {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: BankRailDeps,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask(() => this.tick(), intervalMs);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One turn: send, then ingest; never throws. */
  async tick(): Promise<void> {
    const { logger } = this.deps;
    try {
      await sendBankFiles(this.deps);
    } catch (err) {
      if (!(err instanceof LockUnavailableError)) logger.error({ err }, 'bank sender turn failed; the next turn retries');
    }
    try {
      const r = await ingestBankReports(this.deps);
      if (r.applied.length + r.refused.length > 0) logger.info({ applied: r.applied.length, refused: r.refused.length }, 'bank reports ingested');
    } catch (err) {
      logger.error({ err }, 'bank report ingestion failed; the next turn retries');
    }
  }
}
