import { z } from 'zod';
import { ConfigError } from '../errors';

/**
 * Tuning knobs of the processor runtime, each with its default. Defaults suit a 2-core box with a
 * 10-connection knex pool; most processors should never need to change them.
 */
export const PROCESSOR_DEFAULTS = {
  /** Broker drops a member that has not heartbeated for this long (ms). Broker minimum: 6000. */
  sessionTimeout: 30_000,
  /** How often the member heartbeats (ms). Must be well below sessionTimeout (kafkajs: < 1/3). */
  heartbeatInterval: 3_000,
  /** How long the group waits for members to rejoin during a rebalance (ms). */
  rebalanceTimeout: 60_000,
  /**
   * Records per database transaction. A fetched batch larger than this is cut into sub-batches,
   * each committed (trx, then offsets) on its own, so a crash redoes at most one sub-batch and a
   * transaction never holds locks for a whole 1 MB fetch.
   */
  maxRecordsPerTransaction: 1000,
  /**
   * Partitions processed at the same time by one instance. Each holds one knex connection while
   * its transaction runs, so keep it below the pool size. Together with maxBytesPerPartition it
   * bounds the records in flight (memory) per instance.
   */
  partitionsConsumedConcurrently: 2,
  /** Upper bound of bytes fetched per partition per request. */
  maxBytesPerPartition: 1_048_576,
  /** A group without committed offsets starts at the earliest record: input is never skipped. */
  fromBeginning: true,
  /** First retry delay for retriable failures (ms); doubles per attempt, with jitter. */
  retryInitialDelayMs: 200,
  /** Retry delay cap (ms). */
  retryMaxDelayMs: 10_000,
  /**
   * Attempts of one unit of work (a sub-batch, then each record of it alone) before the runner
   * asks whether the database is answering. If it is, the record is what fails: it is
   * dead-lettered as STS_RETRIES_EXHAUSTED so it cannot hold its partition (and every close
   * waiting on that partition's watermark) forever. If the probe fails it is an outage: the
   * runner keeps retrying with capped backoff and a fresh budget, and never dead-letters for it.
   * With the default delays, 8 attempts are about 15-30 s. Default 8.
   */
  retryMaxAttempts: 8,
  /**
   * Upper bound of one dead letter on the producer side (bytes). The DLQ topic's
   * max.message.bytes, read from the broker, lowers it; a letter over it drops the original
   * payload and keeps the coordinates. Default 1,000,000 (the broker default is 1,048,588).
   */
  dlqMaxMessageBytes: 1_000_000,
  /** How long the database probe (`SELECT 1`) may take before the database counts as down (ms). */
  dependencyProbeTimeoutMs: 2_000,
  /** A retry loop longer than this pauses fetching on the partition until it succeeds (ms). */
  pauseAfterRetryMs: 1_000,
};

export type ProcessorOptions = typeof PROCESSOR_DEFAULTS;

const positiveInt = z.number().int().positive();

const schema = z
  .object({
    sessionTimeout: z.number().int().min(1000),
    heartbeatInterval: positiveInt,
    rebalanceTimeout: positiveInt,
    maxRecordsPerTransaction: positiveInt.max(50_000),
    partitionsConsumedConcurrently: positiveInt.max(64),
    maxBytesPerPartition: positiveInt,
    fromBeginning: z.boolean(),
    retryInitialDelayMs: positiveInt,
    retryMaxDelayMs: positiveInt,
    retryMaxAttempts: positiveInt.max(1000),
    dependencyProbeTimeoutMs: positiveInt,
    dlqMaxMessageBytes: z.number().int().min(4096),
    pauseAfterRetryMs: z.number().int().min(0),
  })
  .strict()
  // Related options checked together, with the fix in the message (kafkajs consumer/index.js).
  .refine((o) => o.heartbeatInterval * 3 <= o.sessionTimeout, {
    message:
      'heartbeatInterval must be at most a third of sessionTimeout; lower heartbeatInterval or raise sessionTimeout',
  })
  .refine((o) => o.retryInitialDelayMs <= o.retryMaxDelayMs, {
    message:
      'retryInitialDelayMs must not exceed retryMaxDelayMs; lower the first or raise the second',
  })
  .refine((o) => o.rebalanceTimeout >= o.sessionTimeout, {
    message: 'rebalanceTimeout must be at least sessionTimeout; raise rebalanceTimeout',
  });

/** Merges `overrides` over the defaults and validates; throws ConfigError naming the bad option. */
export function resolveProcessorOptions(
  overrides: Partial<ProcessorOptions> = {},
): ProcessorOptions {
  const merged = { ...PROCESSOR_DEFAULTS, ...overrides };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'options';
    throw new ConfigError(
      `processor option ${field}: ${issue?.message ?? 'invalid'}`,
      'see PROCESSOR_DEFAULTS in runtime/processor/processor-options.ts',
    );
  }
  return parsed.data;
}
