import { z } from 'zod';
import { ConfigError } from '../errors';

/** Relay options. Every default lives here, next to the schema that validates it. */
export const OUTBOX_RELAY_DEFAULTS = {
  /**
   * Rows read, sent and marked per batch. Bigger batches raise throughput and request size: each
   * batch costs a read, a produce round trip and a mark, so a million rows (a close) took 2,000 of
   * each at 500. 5000 rows are about 1 MB of payload. Default 5000.
   */
  batchSize: 5000,
  /**
   * Batches the running relay publishes back to back before it checks for pruning, while each
   * batch's mark overlaps the next batch's produce. Bounds how long a backlog of a million rows
   * (a close) holds off pruning. Default 20.
   */
  batchesPerRun: 20,
  /**
   * Upper bound of one produce request, in bytes. A batch is sent in as many requests as it takes
   * for each to fit this and the smallest max.message.bytes of its topics (read from the broker),
   * so a batch of large rows is never refused as MESSAGE_TOO_LARGE on every retry. A row that
   * alone does not fit is parked (outbox.parked_at), never retried forever. Default 1000000 (the
   * broker's default message.max.bytes is 1048588).
   */
  maxRequestBytes: 1_000_000,
  /** Wait between polls once the outbox is drained, in ms; the relay's added latency. Default 200. */
  pollIntervalMs: 200,
  /** How often a standby asks for the relay's lease, in ms; the fail-over takes up to leaseTtlMs plus this. Default 1000. */
  lockRetryMs: 1000,
  /**
   * The relay lease's TTL, in ms (runtime/db/lease.ts): a crashed or frozen relay is replaced this
   * long after its last renewal; it renews every third of it. Default 10000.
   */
  leaseTtlMs: 10_000,
  /** First back-off after a failed batch, in ms; doubles on each further failure. Default 500. */
  errorBackoffMs: 500,
  /** Ceiling of that back-off, in ms. Default 10000. */
  maxBackoffMs: 10_000,
  /** Published rows older than this are deleted, in ms. Default 7 days. */
  retentionMs: 7 * 24 * 3600 * 1000,
  /** How often the active relay prunes, in ms. Default 60000. */
  pruneIntervalMs: 60_000,
  /** Rows deleted per statement, so pruning never holds locks on a big range. Default 1000. */
  pruneBatchSize: 1000,
  /** Name of the relay's lease row (role_lease.name), one per database. Default 'sts.outbox-relay'. */
  lockName: 'sts.outbox-relay',
};

export type OutboxRelayOptions = typeof OUTBOX_RELAY_DEFAULTS;

const optionsSchema = z
  .object({
    batchSize: z.number().int().min(1).max(10_000),
    batchesPerRun: z.number().int().min(1).max(10_000),
    maxRequestBytes: z.number().int().min(4096),
    pollIntervalMs: z.number().int().min(1),
    lockRetryMs: z.number().int().min(1),
    leaseTtlMs: z.number().int().min(100),
    errorBackoffMs: z.number().int().min(1),
    maxBackoffMs: z.number().int().min(1),
    retentionMs: z.number().int().min(0),
    pruneIntervalMs: z.number().int().min(1),
    pruneBatchSize: z.number().int().min(1).max(100_000),
    lockName: z.string().min(1).max(64),
  })
  .refine((o) => o.errorBackoffMs <= o.maxBackoffMs, {
    message:
      'errorBackoffMs must not exceed maxBackoffMs; raise maxBackoffMs or lower errorBackoffMs',
  });

export function parseRelayOptions(opts: Partial<OutboxRelayOptions> = {}): OutboxRelayOptions {
  const parsed = optionsSchema.safeParse({ ...OUTBOX_RELAY_DEFAULTS, ...opts });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'options';
    throw new ConfigError(
      `outbox relay ${field}: ${issue?.message ?? 'invalid'}`,
      `fix OutboxRelay option ${field}`,
    );
  }
  return parsed.data;
}
