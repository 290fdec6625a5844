import type Redis from 'ioredis';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { register as globalRegistry } from 'prom-client';
import { PaymentsPausedError } from './payment-errors';
import type { BreakerState, GatewayClient } from '../../runtime/gateway/gateway-client';
import { IdempotencyStore } from '../../runtime/idempotency/idempotency-store';
import type { CompanionContext } from '../../runtime/processor/definition';
import type { RegistryClient } from '../../runtime/registry/registry-client';
import { watchBreaker } from './breaker-watch';
import { Compensator } from './compensator';
import { DelayQueue } from './delay-queue';
import { Escalator } from './escalation';
import { PaymentAttempts } from './payment-attempts';
import { PaymentFinalizer } from './payment-finalizer';
import { PaymentLane } from './payment-lane';
import { paymentMetrics } from './payment-metrics';
import type { PaymentNotifyOptions } from './payment-options';
import { QueueSweeper } from './queue-sweeper';

/**
 * Everything payment-notify runs beside its consumer, built from the processor's own clients
 * when the runtime starts it (the definition's companion): one lane per partition for the first
 * gateway call, the finalizer, the delay-queue compensator with its sweeper, and the breaker watch.
 */
export interface PaymentClients {
  redis: Redis;
  gateway: GatewayClient;
  /** For re-encoding dead-lettered payout events. */
  registry: RegistryClient;
  /** Prefix of every Redis key (queue and idempotency keys), e.g. `sts:pay:{sts}:`. */
  keyPrefix: string;
  /** Ids of the billing items that return a refused payout's amount to the seller. */
  ids: SnowflakeGenerator;
}

export interface PaymentEngine {
  lane(partition: number): PaymentLane;
  /** Holds a batch until its lane has room and the breaker is closed; throws PaymentsPausedError
   * (retriable) if the breaker stays open, so the runtime backs off and the batch is retried. */
  waitForRoom(partition: number): Promise<void>;
  stop(): Promise<void>;
}

export function startPaymentEngine(
  ctx: CompanionContext,
  clients: PaymentClients,
  options: PaymentNotifyOptions,
): PaymentEngine {
  const { db, outbox, kafka, codec } = ctx.deps;
  const logger = ctx.logger.child({ component: 'payment' });
  const { gateway, redis } = clients;
  const metrics = paymentMetrics(ctx.deps.metricsRegistry ?? globalRegistry);
  const queue = new DelayQueue(redis, clients.keyPrefix);
  const idempotency = new IdempotencyStore(redis, { prefix: `${clients.keyPrefix}idem:` });
  const finalizer = new PaymentFinalizer({
    db,
    ids: clients.ids,
    outbox,
    queue,
    metrics,
    logger,
    resultsTopic: options.resultsTopic,
    batchSize: options.finalizeBatch,
    shards: options.finalizeShards,
  });
  const escalator = new Escalator({
    db,
    kafka,
    codec,
    registry: clients.registry,
    metrics,
    logger,
    webhookUrl: options.alertWebhookUrl,
  });
  const attempts = new PaymentAttempts({
    db,
    gateway,
    idempotency,
    queue,
    finalizer,
    escalator,
    metrics,
    logger,
    options,
  });
  const sweeper = new QueueSweeper({ db, queue, logger, graceMs: options.submittedGraceMs });
  const compensator = new Compensator({
    queue,
    sweeper,
    attempts,
    gateway,
    metrics,
    logger,
    options,
  });
  const watch = watchBreaker(gateway, ctx, metrics, logger);
  const lanes = new Map<number, PaymentLane>();
  // A function, not the getter inline: the state changes between awaits.
  const breaker = (): BreakerState => gateway.breakerState;
  compensator.start();

  const laneOf = (partition: number) => {
    let lane = lanes.get(partition);
    if (!lane) {
      lane = new PaymentLane(options.maxInFlightPerPartition, (p) => attempts.payFresh(p));
      lanes.set(partition, lane);
    }
    return lane;
  };

  return {
    lane: laneOf,
    async waitForRoom(partition) {
      const deadline = Date.now() + options.pausedWaitMs;
      while (breaker() !== 'closed') {
        if (Date.now() >= deadline) throw new PaymentsPausedError(breaker());
        await new Promise((res) => setTimeout(res, 50));
      }
      // A full lane drains by itself (every call ends within the client's response timeout);
      // only an opening breaker is a reason to give the batch back.
      const lane = laneOf(partition);
      while (!(await lane.below(options.laneHighWater, 250))) {
        if (breaker() === 'open') throw new PaymentsPausedError('open');
      }
    },
    async stop() {
      watch.stop();
      // Calls in flight finish and are finalised; payouts not yet called stay SUBMITTED and the
      // compensator of the next start (or another instance) picks them up after their grace.
      await Promise.all([...lanes.values()].map((l) => l.close()));
      await compensator.stop();
      await finalizer.drain();
      await escalator.close();
    },
  };
}
