import type { Kafka } from 'kafkajs';
import type { Knex } from 'knex';
import { loadConfig } from '../../runtime/config';
import { Lease, type LeaseOptions } from '../../runtime/db/lease';
import type { RailMap } from '../../runtime/payouts/payout-rails';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import { PayoutFileVerifyError } from '../payout-file/payout-file-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { ensureCycle } from '../../runtime/billing/cycle-resolver';
import type { Logger } from '../../runtime/logger';
import { formatMoney } from '../../runtime/money/money-text';
import type { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { sendBankFiles } from '../bank-file/bank-sender';
import { writePayoutFiles, type WritePayoutFilesResult } from '../payout-file/payout-files';
import { closeTarget } from './close-target';
import { snapshotPayouts } from './payout-snapshot';
import { waitForWatermark, type WatermarkPlan } from './watermark';

/**
 * `sts settle close`: closes the region's cycle that ends at the cutoff, in idempotent steps that a
 * rerun resumes after any crash:
 *   0. watermark: everything produced (appended to the input topics) before the cutoff is consumed
 *      and committed, or the close fails with the lagging partitions; it never pays short;
 *   1. the cycle becomes CLOSING (from here on, new items of this cycle go to the next one, late);
 *   2. payouts from settlement_account, carry-forward items, payout.created events in the outbox;
 *   3. the pain.001 files, written, verified against the database and released (a currency whose
 *      payouts add up past a control sum's 18 digits in several parts, so no amount stops here):
 *      the cycle's record of what it made payable, never sent to a bank; for a cycle of the
 *      bank-file rail, its payouts then go to the bank in their own files (bank-file/bank-sender.ts);
 *   4. the cycle becomes CLOSED.
 * Closing a CLOSED cycle changes nothing and says so.
 *
 * One close per region at a time, across processes (CLI, scheduler, a second operator): two
 * snapshots at once would race page by page. The close holds the region's lease
 * (`sts.close.<region>`, runtime/db/lease.ts) and fences every one of its transactions with it,
 * so a close that lost the lease (frozen past its TTL while another took over) commits nothing
 * more. A second close of the region while one runs is refused (STS_LOCK_UNAVAILABLE); a close
 * that crashed blocks the next one for up to a lease TTL.
 */
export interface CloseDeps {
  db: Knex;
  kafka: Kafka;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  dataDir: string;
  /** Where payout and bank files are written (STS_PAYOUT_FILES_DIR): relative to dataDir, absolute kept; default dataDir itself. */
  payoutFilesDir?: string;
  logger: Logger;
}

export interface CloseOptions {
  region: string;
  /** A cycle boundary (Monday 00:00 local); default: the latest one that has passed. */
  cutoff?: Date;
  watermarkTimeoutMs?: number;
  /**
   * Also wait for everything produced up to this instant (`--drain` passes the close's start):
   * events of this cycle published after its cutoff are then included instead of carried into
   * the next cycle as late. Default: the cutoff.
   */
  drainUntil?: Date;
  plan?: WatermarkPlan;
  payoutsTopic?: string;
  /** The rail of each region; default STS_PAYOUT_RAILS. */
  rails?: RailMap;
  /** Default STS_PAYEE_COOLOFF_HOURS. */
  payeeCooloffHours?: number;
  /** Where a bank-file cycle's pain.001 files go, and the MsgId prefix; default from the environment. */
  bank?: { outboundDir: string; environment: string };
  now?: Date;
  onProgress?: (line: string) => void;
  /** The region lease's settings (runtime/db/lease.ts LEASE_DEFAULTS: a TTL of 10 s). */
  lease?: Omit<LeaseOptions, 'onLost'>;
}

export interface CloseResult {
  region: string;
  cycleId: bigint;
  cutoff: Date;
  alreadyClosed: boolean;
  payoutsCreated: number;
  byStatus: Record<string, number>;
  files: WritePayoutFilesResult['files'];
}

export async function closeCycle(deps: CloseDeps, opts: CloseOptions): Promise<CloseResult> {
  const now = opts.now ?? new Date();
  const { region, cycleId, cutoff } = closeTarget(opts.region, opts.cutoff, now);
  const say = opts.onProgress ?? (() => undefined);
  const lease = new Lease(deps.db, `sts.close.${region}`, {
    ...opts.lease,
    onLost: (err) => deps.logger.warn({ err, region, cycleId }, 'close lost its region lease; its next transaction is refused and it stops'),
  });
  if (!(await lease.tryAcquire())) throw new LockUnavailableError(lease.name, 'another close of this region is running');
  try {
    return await closeLeased(deps, opts, lease, region, cycleId, cutoff, say);
  } finally {
    await lease.release();
  }
}

async function closeLeased(deps: CloseDeps, opts: CloseOptions, lease: Lease, region: string, cycleId: bigint, cutoff: Date, say: (line: string) => void): Promise<CloseResult> {
  const base = { region, cycleId, cutoff };
  const fence = (trx: Knex.Transaction) => lease.fence(trx);

  await deps.db.transaction(async (trx) => {
    await ensureCycle(trx, region, cycleId);
    await fence(trx);
  });
  let status = await cycleStatus(deps.db, region, cycleId);
  if (status === 'CLOSED') {
    say(`cycle ${cycleId} of ${region} is already closed; nothing to do`);
    return { ...base, alreadyClosed: true, payoutsCreated: 0, byStatus: {}, files: [] };
  }
  if (status === 'OPEN') {
    const mark = opts.drainUntil && opts.drainUntil > cutoff ? opts.drainUntil : cutoff;
    say(`waiting for the watermark at ${mark.toISOString()}…`);
    await waitForWatermark(deps.kafka, deps.db, {
      cutoff: mark,
      plan: opts.plan,
      timeoutMs: opts.watermarkTimeoutMs,
      onWait: (l) => say(`  ${l.length} partition(s) still behind the cutoff`),
    });
    await deps.db.transaction(async (trx) => {
      await trx('settlement_cycle').where({ region, cycle_id: cycleId.toString(), status: 'OPEN' }).update({ status: 'CLOSING', closing_at: new Date() });
      await fence(trx);
    });
    status = 'CLOSING';
    say(`cycle ${cycleId} is CLOSING`);
  }

  const config = opts.rails === undefined || opts.payeeCooloffHours === undefined || opts.bank === undefined ? loadConfig() : undefined;
  const snapshot = await snapshotPayouts(
    {
      db: deps.db,
      ids: deps.ids,
      outbox: deps.outbox,
      payoutsTopic: opts.payoutsTopic,
      rails: opts.rails ?? config!.payoutRails,
      payeeCooloffMs: (opts.payeeCooloffHours ?? config!.payeeCooloffHours) * 3_600_000,
      now: opts.now,
      fence,
    },
    region,
    cycleId,
    (n) => say(`  ${n} payouts created`),
  );
  say(`payouts: ${JSON.stringify(snapshot.byStatus)}`);

  await lease.assertHeld();
  const files = await writePayoutFiles(deps.db, deps.dataDir, region, cycleId, { filesDir: deps.payoutFilesDir, fence });
  if (!files.ok) throw new PayoutFileVerifyError(region, cycleId, files.failures);
  for (const f of files.files) say(`  ${f.currency}${f.part ? ` part ${f.part}` : ''}: ${f.nbOfTxs} transfers, ${formatMoney(f.ctrlSumMinor, f.currency)}, ${f.state}, ${f.status} (record) → ${f.relativePath}`);

  // A bank-file cycle's payouts go to the bank now, each in one transmitted file.
  if (snapshot.rail === 'bank-file') {
    const bank = opts.bank ?? { outboundDir: config!.bankOutboundDir, environment: config!.environment };
    try {
      const sent = await sendBankFiles({ db: deps.db, dataDir: deps.dataDir, payoutFilesDir: deps.payoutFilesDir, logger: deps.logger, ...bank }, { region, onProgress: say });
      say(`bank files: ${sent.transmitted.length} transmitted`);
    } catch (err) {
      // The bank rail of `sts run all` is sending right now: it takes every PENDING bank-file
      // payout, these included, so the close is done either way.
      if (!(err instanceof LockUnavailableError)) throw err;
      say('bank files: another sender is running and will send them');
    }
  }

  await deps.db.transaction(async (trx) => {
    await trx('settlement_cycle').where({ region, cycle_id: cycleId.toString(), status: 'CLOSING' }).update({ status: 'CLOSED', closed_at: new Date() });
    await fence(trx);
  });
  deps.logger.info({ region, cycleId, payouts: snapshot.created, byStatus: snapshot.byStatus }, 'cycle closed');
  return { ...base, alreadyClosed: false, payoutsCreated: snapshot.created, byStatus: snapshot.byStatus, files: files.files };
}

async function cycleStatus(db: Knex, region: string, cycleId: bigint): Promise<string> {
  const row = (await db('settlement_cycle').where({ region, cycle_id: cycleId.toString() }).first('status')) as { status: string } | undefined;
  return row!.status;
}
