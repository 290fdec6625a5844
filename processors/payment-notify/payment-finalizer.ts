import type { Knex } from '../../runtime/db/knex';
import { intList } from '../../runtime/db/int-list';
import { LedgerInvariantError } from '../../runtime/payment-ledger/ledger-errors';
import type { SettledOutcome } from '../../runtime/gateway/gateway-client';
import type { Logger } from '../../runtime/logger';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { recordPayoutOutcomes } from '../../settlement/payouts/payout-outcomes';
import { backoffDelay, isRetriable } from '../../runtime/processor/retry-policy';
import type { DelayQueue } from './delay-queue';
import type { PaymentMetrics } from './payment-metrics';
import type { SubmittedPayout } from './payout-submit';

/**
 * Writes final states: for each payout the gateway answered, in ONE transaction, CONFIRM (the
 * gateway executed it: in flight -> bank clearing) or CANCEL (it refused: in flight -> back to
 * settlement, and the amount back into the seller's balance in the open cycle, payout-return.ts),
 * the payout PAID or FAILED with the gateway reference, and the result event in the outbox. Only after that commits is the payout's delay-queue entry removed.
 *
 * Group commit: answers that arrive while a transaction runs are written together by the next
 * one, so at 2,000 payouts/s the database sees a few dozen transactions a second, not thousands.
 * A few shards run side by side, each a FIFO of its own sellers: one seller's final states still
 * commit in the order they were handed in, while the shards overlap their round trips (they
 * serialise only on the ledger rows, locked last and in key order, so they cannot deadlock).
 *
 * Idempotent: the payout row is locked and only a SUBMITTED one is finalised, and tccResolve
 * skips a transaction already resolved the same way, so a lane and the compensator finishing the
 * same payout (after a FLUSHALL lost the claim between them) write it once.
 */

interface Pending {
  payout: SubmittedPayout;
  outcome: SettledOutcome;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface FinalizerDeps {
  db: Knex;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  queue: DelayQueue;
  metrics: PaymentMetrics;
  logger: Logger;
  resultsTopic: string;
  batchSize: number;
  /** Transactions in flight at once; sellers are split between them by shop_user_id. */
  shards: number;
}

/** Retriable database failures are retried this often before the caller is told to defer. */
const DB_ATTEMPTS = 6;

export class PaymentFinalizer {
  /** One FIFO per shard; a seller always maps to the same shard, so its final states commit in order. */
  private readonly shards: Array<{ pending: Pending[]; flushing?: Promise<void> }>;

  constructor(private readonly deps: FinalizerDeps) {
    this.shards = Array.from({ length: deps.shards }, () => ({ pending: [] }));
  }

  /** Resolves once the final state is committed (and its queue entry removed); rejects if it could not be. */
  finalize(payout: SubmittedPayout, outcome: SettledOutcome): Promise<void> {
    const shard = this.shards[Number(payout.shopUserId % BigInt(this.shards.length))]!;
    return new Promise((resolve, reject) => {
      shard.pending.push({ payout, outcome, resolve, reject });
      shard.flushing ??= this.flush(shard).finally(() => (shard.flushing = undefined));
    });
  }

  /** Waits for every final state handed in so far. */
  async drain(): Promise<void> {
    for (const shard of this.shards) while (shard.flushing) await shard.flushing;
  }

  private async flush(shard: { pending: Pending[] }): Promise<void> {
    while (shard.pending.length > 0) {
      const batch = shard.pending.splice(0, this.deps.batchSize);
      await this.commitOrIsolate(batch);
    }
  }

  /** One transaction for the batch; if a record in it can never commit, each record on its own. */
  private async commitOrIsolate(batch: Pending[]): Promise<void> {
    try {
      await this.commit(batch);
      return;
    } catch (err) {
      if (batch.length === 1 || isRetriable(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      this.deps.logger.warn({ err, records: batch.length }, 'final-state batch failed; isolating');
    }
    for (const p of batch) {
      try {
        await this.commit([p]);
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const { db, queue, metrics, logger } = this.deps;
    let written: Pending[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        written = await db.transaction((trx) => this.write(trx, batch));
        break;
      } catch (err) {
        if (!isRetriable(err) || attempt + 1 >= DB_ATTEMPTS) throw err;
        const delay = backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 2000 });
        logger.warn(
          { err, attempt: attempt + 1, delayMs: delay },
          'final-state transaction failed; retrying',
        );
        await new Promise((res) => setTimeout(res, delay));
      }
    }
    for (const p of written)
      metrics.finalized.inc({ status: p.outcome.kind === 'executed' ? 'PAID' : 'FAILED' });
    // After the commit, never before: an entry removed first and then a failed commit would leave
    // a SUBMITTED payout nobody checks until the next sweep.
    await queue
      .remove(batch.map((p) => p.payout.payoutId))
      .catch((err: unknown) =>
        logger.warn(
          { err },
          'delay-queue cleanup failed; the compensator drops final entries itself',
        ),
      );
    for (const p of batch) p.resolve();
  }

  /** Returns the payouts this transaction finalised (the others were final already). */
  private async write(trx: Knex.Transaction, batch: Pending[]): Promise<Pending[]> {
    const byId = new Map<bigint, Pending>();
    for (const p of batch) if (!byId.has(p.payout.payoutId)) byId.set(p.payout.payoutId, p);
    const ids = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const [rows] = (await trx.raw(
      `SELECT CAST(id AS CHAR) AS id, status, CAST(cycle_id AS CHAR) AS cycle_id FROM payout WHERE id IN (${intList(ids)}) ORDER BY id FOR UPDATE`,
    )) as [Array<{ id: string; status: string; cycle_id: string }>];
    const cycles = new Map(rows.map((r) => [r.id, BigInt(r.cycle_id)]));
    const todo: Pending[] = [];
    for (const r of rows) {
      const p = byId.get(BigInt(r.id))!;
      const want = p.outcome.kind === 'executed' ? 'PAID' : 'FAILED';
      if (r.status === 'SUBMITTED') todo.push(p);
      else if (r.status !== want)
        // The gateway answers one key the same way forever; a different final state is a bug.
        throw new LedgerInvariantError(
          p.payout.payoutId,
          `payout is ${r.status} but the gateway says ${want}`,
        );
    }
    if (todo.length === 0) return [];

    await recordPayoutOutcomes(
      trx,
      { ids: this.deps.ids, outbox: this.deps.outbox, resultsTopic: this.deps.resultsTopic },
      todo.map((p) => ({
        payout: { ...p.payout, cycleId: cycles.get(p.payout.payoutId.toString())! },
        status: p.outcome.kind === 'executed' ? 'PAID' : 'FAILED',
        reference: p.outcome.reference,
        failureCode: p.outcome.kind === 'rejected' ? p.outcome.failureCode : null,
        by: 'the gateway',
      })),
      new Date(),
    );
    return todo;
  }
}
