import { UnexpectedStateError } from '../../runtime/errors';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { startPaymentEngine, type PaymentClients, type PaymentEngine } from './payment-engine';
import { resolvePaymentOptions, type PaymentNotifyOptions } from './payment-options';
import { PAYOUTS, validatePayoutEvent, type PayoutEvent } from '../../contracts/payout';
import { GROUPS } from '../../topologies/settlement';
import { submitPayouts } from './payout-submit';

/**
 * payment-notify: pays every PENDING payout of `sts.payouts.v1` exactly once through the payment
 * gateway, and publishes its PAID or FAILED result to `sts.payout-results.v1`
 * (docs/DESIGN.md, lesson 6).
 *
 * Offsets vs. SUBMITTED. The runtime commits a sub-batch's offsets right after the sub-batch's
 * transaction commits. That transaction does only the first, durable step: TCC TRY (settlement
 * -> in flight) and payout PENDING -> SUBMITTED (payout-submit.ts). The gateway call happens
 * AFTER it commits, in the partition's lane, outside any transaction. So an offset moves past a
 * payout only once that payout is durably SUBMITTED, and from then on it is owned by the lane
 * and, if the lane does not finish it (timeout, crash, kill -9, breaker), by the compensator,
 * which rebuilds its queue from every SUBMITTED payout. A redelivered event finds the payout
 * SUBMITTED or final and does nothing. A gateway call never holds a database transaction, and a
 * slow or unknown call never holds the partition: it takes one lane slot, then goes to the
 * delay queue.
 *
 * Exactly once at the gateway: each call claims the Redis key `payout:<id>` (one caller at a
 * time) and sends Idempotency-Key = the payout id, with the payee account frozen at TRY, so any
 * number of sends of one payout execute it at most once. Its final state (CONFIRM + PAID, or
 * CANCEL + FAILED) and the result event commit in one transaction (payment-finalizer.ts), guarded
 * by the payout row and tcc_state locks, so it is written once however many workers get there.
 *
 * Order per seller. The key is shop_user_id, so a seller's payouts share a partition and thus a
 * lane, where they are called strictly one after another in offset order, and their final states
 * commit in that order too (the finalizer keeps one FIFO per shard of sellers); other sellers run
 * alongside, at most `maxInFlightPerPartition` calls at once per partition. A payout the lane
 * defers to the compensator does not hold back the seller's next payout: its result comes when
 * the gateway's answer is known, and every result names its payout.
 *
 * Breaker. When the gateway client's breaker opens, consumption of the topic pauses (the runtime
 * companion's switch) and batches already fetched are handed back as retriable
 * (STS_PAYMENTS_PAUSED); on half-open one trial request goes out, and its success closes the
 * breaker and resumes consumption (breaker-watch.ts).
 *
 * Records that cannot be paid go to the DLQ: STS_VALIDATION_FAILED (bad region, currency,
 * status, amount), STS_NOT_FOUND (no payout row), STS_PAYOUT_MISMATCH (the event disagrees with
 * the row). ON_HOLD and CARRIED_FORWARD payouts are not paid and not dead-lettered.
 */
export interface PaymentNotifyDeps extends PaymentClients {
  topic?: string;
  options?: Partial<PaymentNotifyOptions>;
  /** Runs after the processor stopped: closes clients the caller built for it (the catalog's). */
  onStop?: () => Promise<void>;
}

export function paymentNotify(deps: PaymentNotifyDeps): ProcessorDefinition<PayoutEvent> {
  const options = resolvePaymentOptions(deps.options);
  let engine: PaymentEngine | undefined;
  return {
    name: 'payment-notify',
    group: GROUPS.paymentNotify,
    topic: deps.topic ?? PAYOUTS.topic,
    readerSchema: PAYOUTS.readerSchema,
    options: {
      // Sub-batches about the size of a lane's backlog, so TRYing the next one overlaps the calls
      // of this one; four partitions at once keep ~128 calls in flight at 20 ms latency.
      maxRecordsPerTransaction: 256,
      partitionsConsumedConcurrently: 4,
      // A batch handed back while the breaker is open is retried within 2 s of it closing.
      retryMaxDelayMs: 2000,
    },
    validate: (event) => validatePayoutEvent(event),
    async companion(ctx) {
      engine = startPaymentEngine(ctx, deps, options);
      const running = engine;
      return {
        async stop() {
          await running.stop();
          await deps.onStop?.();
        },
      };
    },
    async handleBatch(ctx, records) {
      if (!engine)
        throw new UnexpectedStateError(
          'payment-notify must run through runProcessor, which starts its companion',
        );
      const partition = records[0]!.partition;
      // Before the first statement: waiting here holds a connection but no lock.
      await engine.waitForRoom(partition);
      const { submitted, skipped } = await submitPayouts(ctx.trx, records);
      // Called once this transaction commits; dropped if it rolls back (the records come again).
      if (submitted.length > 0) engine.lane(partition).enqueue(submitted, ctx.trx.executionPromise);
      ctx.logger.debug({ submitted: submitted.length, skipped }, 'payouts submitted');
    },
  };
}
