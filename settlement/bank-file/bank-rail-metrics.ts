import type { Counter, Gauge, Registry } from 'prom-client';
import type { Knex } from '../../runtime/db/knex';
import { metricsOf } from '../../runtime/metrics';

/**
 * What an operator watches on the bank-file rail: files sent to the bank, reports read back
 * (applied, seen before, or refused as unreadable), turns that failed, and the files the bank has
 * not answered yet with the age of the oldest. A bank that stops answering shows here hours before
 * `payout-sla` names the payouts; a sender that keeps failing shows at once.
 */
export interface BankRailMetrics {
  filesTransmitted: Counter;
  reports: Counter<'result'>;
  turnFailures: Counter<'step'>;
  unansweredFiles: Gauge;
  oldestUnansweredSeconds: Gauge;
}

/** One set per registry; every worker in a process (tests, `sts bank run` beside the API) shares it. */
export function bankRailMetrics(registry: Registry): BankRailMetrics {
  const { counter, gauge } = metricsOf(registry);
  return {
    filesTransmitted: counter(
      'sts_bank_files_transmitted_total',
      'pain.001 files handed to the bank (linked into the outbound folder)',
    ),
    reports: counter(
      'sts_bank_reports_total',
      'Bank reports read from the inbound folder: applied, repeated (seen before) or refused (unreadable)',
      ['result'],
    ),
    turnFailures: counter(
      'sts_bank_turn_failures_total',
      'Bank rail turns that failed and wait for the next one, by step (send or ingest)',
      ['step'],
    ),
    unansweredFiles: gauge(
      'sts_bank_unanswered_files',
      'Files transmitted to the bank without a status report (pain.002) yet',
    ),
    oldestUnansweredSeconds: gauge(
      'sts_bank_oldest_unanswered_file_seconds',
      'Age of the oldest file transmitted without a status report; 0 when none waits',
    ),
  };
}

/**
 * Reads the unanswered files through ix_bank_file_status (status leads); bank_file holds files,
 * at most one per 5,000 transfers, so the range is short. transmitted_at is written from this
 * process's clock through the driver, so its age is taken on the same clock, read back the same way.
 */
export async function observeUnansweredFiles(
  db: Knex,
  metrics: BankRailMetrics,
  now = new Date(),
): Promise<void> {
  const row = (await db('bank_file')
    .where({ status: 'TRANSMITTED' })
    .whereNull('bank_status')
    .count({ files: '*' })
    .min({ oldest: 'transmitted_at' })
    .first()) as { files: number | string; oldest: Date | null } | undefined;
  metrics.unansweredFiles.set(Number(row?.files ?? 0));
  metrics.oldestUnansweredSeconds.set(
    row?.oldest ? Math.max(0, Math.floor((now.getTime() - row.oldest.getTime()) / 1000)) : 0,
  );
}
