import { z } from 'zod';
import { PAYOUT_RESULTS } from '../../contracts/payout-result';
import { ConfigError } from '../../runtime/errors';

/**
 * payment-notify and its compensator: every knob with its default, validated together.
 * The defaults fit one instance on a 2-core box paying ~2,000 payouts/s at 20 ms gateway latency.
 */
export const PAYMENT_NOTIFY_DEFAULTS = {
  /** Gateway calls in flight per partition at most (lesson 7: bounded work per upstream). Default 32. */
  maxInFlightPerPartition: 32,
  /** A partition TRIES its next sub-batch only while fewer payouts than this wait in its lane, so a
   * slow gateway slows consumption instead of piling SUBMITTED payouts up in memory. Default 256. */
  laneHighWater: 256,
  /** Longest a batch waits for the breaker to close before it is handed back to be retried, in ms.
   * Default 1000. */
  pausedWaitMs: 1000,
  /** Redis claim on a payout's key while one worker calls the gateway, in ms; it must outlast a
   * call (the client's response timeout) with margin. Default 30000. */
  claimTtlMs: 30_000,
  /** How long the gateway's answer stays in Redis under the key, in ms. Default 24 h. */
  resultTtlMs: 86_400_000,
  /** Final states written per transaction at most (they are group-committed). Default 500. */
  finalizeBatch: 500,
  /** Final-state transactions in flight at once, each for its own share of sellers. Default 2. */
  finalizeShards: 2,
  /** Payouts the compensator checks at the same time. Default 16. */
  compensatorConcurrency: 16,
  /** How often the compensator looks for due entries when it has nothing to do, in ms. Default 200. */
  compensatorPollMs: 200,
  /** First recheck after an unknown outcome, in ms; doubles per attempt, with jitter. Default 1000. */
  retryInitialDelayMs: 1000,
  /** Ceiling of that delay, in ms; escalated payouts keep being checked this often. Default 60000. */
  retryMaxDelayMs: 60_000,
  /** Unknown outcomes before ops are alerted and the payout is dead-lettered. Default 12. */
  maxAttempts: 12,
  /** A SUBMITTED payout found by the sweeper is first checked this long after it was submitted,
   * in ms, so the compensator does not race the lane that is paying it. Default 15000. */
  submittedGraceMs: 15_000,
  /** How long a queue entry a worker took stays invisible to the others, in ms; a worker that
   * died mid-check leaves its entries to be taken again after it. Default 60000. */
  queueLeaseMs: 60_000,
  /** How often the sweeper rebuilds the delay queue from SUBMITTED payouts, in ms. It also
   * rebuilds at start and as soon as it sees the queue's marker gone (FLUSHALL). Default 60000. */
  sweepIntervalMs: 60_000,
  /** Recheck delay for a payout whose key another worker holds, in ms. Default 2000. */
  inProgressDelayMs: 2000,
  /** URL that receives a JSON POST for every escalation; empty for none. Default empty; `sts run`
   * passes STS_ALERT_WEBHOOK_URL, the one alert channel ops already watch for lag. */
  alertWebhookUrl: '',
  /** Where PAID and FAILED results go (through the outbox). Default sts.payout-results.v1. */
  resultsTopic: PAYOUT_RESULTS.topic as string,
};

export type PaymentNotifyOptions = typeof PAYMENT_NOTIFY_DEFAULTS;

const ms = z.number().int().min(1);

const schema = z
  .object({
    maxInFlightPerPartition: z.number().int().min(1).max(1024),
    laneHighWater: z.number().int().min(1),
    pausedWaitMs: ms,
    claimTtlMs: ms,
    resultTtlMs: ms,
    finalizeBatch: z.number().int().min(1).max(10_000),
    finalizeShards: z.number().int().min(1).max(16),
    compensatorConcurrency: z.number().int().min(1).max(1024),
    compensatorPollMs: ms,
    retryInitialDelayMs: ms,
    retryMaxDelayMs: ms,
    maxAttempts: z.number().int().min(1),
    submittedGraceMs: z.number().int().min(0),
    queueLeaseMs: ms,
    sweepIntervalMs: ms,
    inProgressDelayMs: ms,
    alertWebhookUrl: z.union([z.literal(''), z.string().url()]),
    resultsTopic: z.string().min(1),
  })
  .strict()
  .refine((o) => o.retryInitialDelayMs <= o.retryMaxDelayMs, {
    message:
      'retryInitialDelayMs must not exceed retryMaxDelayMs; lower the first or raise the second',
    path: ['retryInitialDelayMs'],
  })
  .refine((o) => o.laneHighWater >= o.maxInFlightPerPartition, {
    message:
      'laneHighWater must be at least maxInFlightPerPartition, or the lane never fills its window',
    path: ['laneHighWater'],
  })
  .refine((o) => o.claimTtlMs < o.queueLeaseMs, {
    message:
      'claimTtlMs must be below queueLeaseMs, so a leased entry outlives the claim of the worker that took it',
    path: ['claimTtlMs'],
  });

/** `overrides` over the defaults; throws ConfigError naming the option and how to fix it. */
export function resolvePaymentOptions(
  overrides: Partial<PaymentNotifyOptions> = {},
): PaymentNotifyOptions {
  const merged = { ...PAYMENT_NOTIFY_DEFAULTS, ...overrides };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'options';
    throw new ConfigError(
      `payment-notify option ${field}: ${issue?.message ?? 'invalid'}`,
      'see PAYMENT_NOTIFY_DEFAULTS in processors/payment-notify/payment-options.ts',
    );
  }
  return parsed.data;
}
