import { register as defaultRegistry, type Registry } from 'prom-client';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { Logger } from '../../runtime/logger';
import { PeriodicTask } from '../../runtime/periodic-task';
import type { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import type { Knex } from '../../runtime/db/knex';
import { bankRailMetrics, observeUnansweredFiles, type BankRailMetrics } from './bank-rail-metrics';
import { ingestBankReports } from './bank-status-ingest';
import { sendBankFiles } from './bank-sender';

/**
 * The bank-file rail as `sts run all` runs it: every `intervalMs`, send what is PENDING (payouts
 * an operator released, a close's files that a crash left unsent) and apply the bank's reports
 * that arrived. Any number of instances may run it: the sender takes a lease and one that finds
 * it taken skips the turn; each report is applied once whoever reads it. A failed turn is
 * logged and counted, and the next one tries again; nothing is lost meanwhile (files and reports
 * wait). Each turn also measures the files the bank has not answered (bank-rail-metrics.ts).
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
  /** prom-client registry for the rail's metrics; the global one by default. */
  metrics?: Registry;
}

export class BankRailWorker {
  private readonly task: PeriodicTask;
  private readonly metrics: BankRailMetrics;

  constructor(
    private readonly deps: BankRailDeps,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask(() => this.tick(), intervalMs);
    this.metrics = bankRailMetrics(deps.metrics ?? defaultRegistry);
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
    const m = this.metrics;
    try {
      const sent = await sendBankFiles(this.deps);
      m.filesTransmitted.inc(sent.transmitted.length);
    } catch (err) {
      // Another instance holds the sender's lease: its turn, not a failure.
      if (!(err instanceof LockUnavailableError)) {
        m.turnFailures.inc({ step: 'send' });
        logger.error({ err }, 'bank sender turn failed; the next turn retries');
      }
    }
    try {
      const r = await ingestBankReports(this.deps);
      m.reports.inc({ result: 'applied' }, r.applied.length);
      m.reports.inc({ result: 'repeated' }, r.repeated.length);
      m.reports.inc({ result: 'refused' }, r.refused.length);
      if (r.applied.length + r.refused.length > 0)
        logger.info(
          { applied: r.applied.length, refused: r.refused.length },
          'bank reports ingested',
        );
    } catch (err) {
      m.turnFailures.inc({ step: 'ingest' });
      logger.error({ err }, 'bank report ingestion failed; the next turn retries');
    }
    try {
      await observeUnansweredFiles(this.deps.db, m);
    } catch (err) {
      logger.warn(
        { err },
        'could not measure the unanswered bank files; the next turn tries again',
      );
    }
  }
}
