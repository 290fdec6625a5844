import {
  ConfigResourceTypes,
  Partitioners,
  type IHeaders,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import type { Knex } from 'knex';
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { ErrorCode } from '../error-codes';
import { asStsError } from '../errors';
import { LockUnavailableError } from '../db/db-errors';
import { OutboxBadRowError } from './outbox-errors';
import { createLogger, type Logger } from '../logger';
import { Lease } from '../db/lease';
import { chunksOf, isTooLarge, messageBytes } from './produce-requests';
import { relayMetrics, type RelayMetrics } from './relay-metrics';
import { parseRelayOptions, type OutboxRelayOptions } from './relay-options';

/** Header carrying the outbox row's stable event id; consumers deduplicate on it. */
export const EVENT_ID_HEADER = 'sts-event-id';

export { OUTBOX_RELAY_DEFAULTS, parseRelayOptions, type OutboxRelayOptions } from './relay-options';
export { messageBytes } from './produce-requests';

export interface OutboxRelayDeps {
  db: Knex;
  kafka: Kafka;
  logger?: Logger;
  /** prom-client registry for the relay's metrics; the global one by default. */
  metrics?: Registry;
}

interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  msg_key: string;
  payload: Buffer;
  headers: string | null;
  age_us: string | null;
}

/**
 * The hot query: oldest unpublished rows first, served by ix_outbox_pending (published_at, id).
 * It selects by `published_at IS NULL`, never `id > lastSeen`: ids are handed out at INSERT but
 * rows become visible at COMMIT, so a transaction holding id 5 can commit after id 6 was relayed,
 * and a high-water mark would skip 5 forever. `inFlight` names the rows of the batch whose mark is
 * still running: they are sent but still NULL, and must not be read again.
 */
export function pendingQuery(
  db: Knex,
  limit: number,
  inFlight: readonly string[] = [],
): Knex.QueryBuilder {
  // FORCE INDEX: with ix_outbox_parked beside it, `parked_at IS NULL` must not tempt the
  // optimizer into walking the published history; parked rows are few and filtered on the way.
  const q = db
    .from(db.raw('outbox FORCE INDEX (ix_outbox_pending)'))
    .select('id', 'event_id', 'topic', 'msg_key', 'payload', 'headers')
    .select(db.raw('TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) AS age_us'))
    .whereNull('published_at')
    .whereNull('parked_at');
  // Integer literals through BigInt, as in the mark: a string bound against the BIGINT key would
  // compare as DOUBLE and lose the low digits of an 18-digit id (docs/DESIGN.md, lesson 9).
  if (inFlight.length > 0)
    q.whereRaw(`id NOT IN (${inFlight.map((id) => BigInt(id).toString()).join(',')})`);
  return q.orderBy('id').limit(limit);
}

/**
 * Publishes `outbox` rows to Kafka. One relay per database is active at a time, the holder of the
 * relay's lease (runtime/db/lease.ts); the others stand by and take over once its lease expires or
 * is released. Every write the relay makes (marking rows published, parking them) is fenced by the
 * lease, so a relay that lost it while a batch was in flight changes nothing. Rows go out
 * in id order through an idempotent producer with one request in flight, so a retry cannot
 * reorder a partition, and each batch is acknowledged before the next is read. A row is marked
 * published only after Kafka acknowledged it: a crash in between re-sends it, which consumers
 * absorb by deduplicating on the `sts-event-id` header (at-least-once, never lost).
 */
export class OutboxRelay {
  readonly options: OutboxRelayOptions;
  private readonly db: Knex;
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private readonly metrics: RelayMetrics;
  private readonly lease: Lease;
  private producer: Producer | undefined;
  private producerReady: Promise<Producer> | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private lastPruneAt = 0;
  private readonly topicLimits = new Map<string, Promise<number>>();
  private publishedRows = 0;

  constructor(deps: OutboxRelayDeps, opts: Partial<OutboxRelayOptions> = {}) {
    this.options = parseRelayOptions(opts);
    this.db = deps.db;
    this.kafka = deps.kafka;
    this.log = deps.logger ?? createLogger('outbox-relay');
    this.metrics = relayMetrics(deps.metrics ?? defaultRegistry);
    this.lease = new Lease(this.db, this.options.lockName, {
      ttlMs: this.options.leaseTtlMs,
      onLost: (err) => {
        this.log.warn({ err, lease: this.lease.name }, 'relay lease lost; stopping publishing');
        this.metrics.active.set(0);
      },
    });
  }

  /** True while this relay holds the lease and may publish. */
  get isActive(): boolean {
    return this.lease.held;
  }

  /** The fencing token of the relay's lease, when held. */
  get leaseToken(): bigint | undefined {
    return this.lease.held ? this.lease.token : undefined;
  }

  /**
   * Rows this instance has had acknowledged by Kafka since it was built. A row whose mark was
   * refused (the lease was lost meanwhile) is in the topic, and counted here, although the next
   * active relay sends it again.
   */
  get published(): number {
    return this.publishedRows;
  }

  /** Starts the poll loop in the background: standby until the lease is won, then publishing. */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.ensureProducer();
    this.running = true;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Finishes the batch in flight, releases the lease and disconnects the producer. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.serial.catch(() => undefined);
    await this.lease.release();
    this.metrics.active.set(0);
    const producer = this.producer;
    this.producer = undefined;
    this.producerReady = undefined;
    if (producer) await producer.disconnect().catch(() => undefined);
  }

  /**
   * Publishes one batch and returns how many rows went out. Takes the lease if nobody holds it;
   * throws LockUnavailableError (STS_LOCK_UNAVAILABLE) if another relay is active.
   */
  async runOnce(): Promise<number> {
    return this.withLease(async () => (await this.publishRun(1)).rows);
  }

  /**
   * Publishes until the outbox has no unpublished row left (batches pipelined as in the running
   * relay) and returns how many rows went out. Same lease rule as runOnce.
   */
  async drain(): Promise<number> {
    return this.withLease(async () => (await this.publishRun(Number.POSITIVE_INFINITY)).rows);
  }

  private withLease<T>(fn: () => Promise<T>): Promise<T> {
    return this.runSerial(async () => {
      if (!this.lease.held && !(await this.lease.tryAcquire())) {
        throw new LockUnavailableError(
          this.lease.name,
          'another relay is active',
        );
      }
      return fn();
    });
  }

  /** Deletes published rows older than `retentionMs`, in bounded batches; returns rows deleted. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      // ORDER BY + LIMIT keeps each statement a short range scan on ix_outbox_pending.
      const [res] = (await this.db.raw(
        `DELETE FROM outbox
          WHERE published_at IS NOT NULL AND published_at < NOW(3) - INTERVAL ? MICROSECOND
          ORDER BY published_at, id LIMIT ?`,
        [this.options.retentionMs * 1000, this.options.pruneBatchSize],
      )) as [{ affectedRows: number }];
      total += res.affectedRows;
      this.metrics.pruned.inc(res.affectedRows);
      if (res.affectedRows < this.options.pruneBatchSize || this.stopping) break;
    }
    this.lastPruneAt = Date.now();
    if (total > 0) this.log.info({ rows: total }, 'pruned published outbox rows');
    return total;
  }

  private async run(): Promise<void> {
    let backoff = this.options.errorBackoffMs;
    let wasActive = false;
    while (this.running) {
      try {
        if (!this.lease.held) {
          this.metrics.active.set(0);
          if (wasActive) {
            // Just lost the lease: wait out two standby polls so the standby wins the hand-over
            // instead of this instance, which just proved too slow to keep it.
            wasActive = false;
            await this.lease.release();
            await this.sleep(2 * this.options.lockRetryMs);
            continue;
          }
          if (!(await this.lease.tryAcquire())) {
            await this.sleep(this.options.lockRetryMs);
            continue;
          }
          this.metrics.active.set(1);
          wasActive = true;
          this.log.info({ lease: this.lease.name }, 'outbox relay is active');
        }
        const { drained } = await this.runSerial(() => this.publishRun(this.options.batchesPerRun));
        if (Date.now() - this.lastPruneAt >= this.options.pruneIntervalMs) await this.prune();
        backoff = this.options.errorBackoffMs;
        if (drained) await this.sleep(this.options.pollIntervalMs);
      } catch (err) {
        const e = asStsError(err, { component: 'outbox-relay' });
        this.metrics.errors.inc({ code: e.code });
        if (err instanceof LockUnavailableError) {
          // Stand by (the loop head waits): someone else may be publishing now, and a second
          // publisher would interleave a key's events.
          this.log.warn({ err: e }, 'outbox relay lost its lease; standing by');
          await this.lease.release();
          continue;
        }
        this.log.error(
          { err: e, backoffMs: backoff },
          'outbox batch failed; retrying the same rows',
        );
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      }
    }
  }

  /**
   * Publishes up to `maxBatches` batches, stopping at the first short one (drained: true) or when
   * stop() is called. Batch N+1 is read and produced while batch N's mark runs; batch N+1 is
   * marked only after batch N's mark committed, and not at all if it failed.
   */
  private async publishRun(maxBatches: number): Promise<{ rows: number; drained: boolean }> {
    let rows = 0;
    // The previous batch's mark: resolves to its error instead of rejecting, so a failure that
    // lands while this batch is being produced is not an unhandled rejection.
    let marking: Promise<unknown> = Promise.resolve(undefined);
    let inFlight: string[] = [];
    let drained = false;
    try {
      for (let n = 0; n < maxBatches && !(n > 0 && this.stopping); n++) {
        // Checked before every batch: a relay whose lease was taken over must not send what the
        // new active relay is sending, or the two would interleave a key's events.
        await this.lease.assertHeld();
        const t0 = performance.now();
        const batch = (await pendingQuery(
          this.db,
          this.options.batchSize,
          inFlight,
        )) as OutboxRow[];
        this.metrics.oldestPending.set(batch[0]?.age_us ? Number(batch[0].age_us) / 1e6 : 0);
        if (batch.length === 0) {
          drained = true;
          break;
        }
        const t1 = performance.now();
        const { sent, byTopic } = await this.sendFitting(batch);
        this.publishedRows += sent.length;
        const t2 = performance.now();
        const failed = await marking;
        if (failed !== undefined) throw failed;
        // Only after the ack, and after the previous batch is marked (see the class comment).
        // The id list is rebuilt through BigInt so it can only hold integer literals (typed
        // comparison on the BIGINT key, docs/DESIGN.md, lesson 9), and it names exactly the rows
        // sent: a range would also mark a row that committed inside it after our SELECT.
        inFlight = batch.map((r) => BigInt(r.id).toString());
        const ids = sent.map((r) => BigInt(r.id).toString()).join(',');
        const t3 = performance.now();
        // Parked rows are not marked: they stay unpublished (and visible) until fixed.
        marking = (
          ids.length === 0
            ? Promise.resolve()
            : this.db.transaction(async (trx) => {
                await trx.raw(
                  `UPDATE outbox SET published_at = NOW(3) WHERE id IN (${ids}) AND published_at IS NULL`,
                );
                // A relay that lost its lease marks nothing: the rows stay pending for the new
                // holder, which sends them again (consumers deduplicate by event id).
                await this.lease.fence(trx);
              })
        ).then(
          () => {
            for (const [topic, count] of byTopic) this.metrics.published.inc({ topic }, count);
            const ms = (a: number, b: number) => Math.round(b - a);
            this.log.debug(
              {
                rows: sent.length,
                readMs: ms(t0, t1),
                sendMs: ms(t1, t2),
                markMs: ms(t3, performance.now()),
              },
              'outbox batch published',
            );
            return undefined;
          },
          (err: unknown) => err ?? new Error('outbox mark failed'),
        );
        rows += sent.length;
        if (batch.length < this.options.batchSize) {
          drained = true;
          break;
        }
      }
    } catch (err) {
      // Never leave a mark running behind the caller: the next read must find it committed or
      // failed, not in progress, or it would send the same rows a second time alongside it.
      await marking;
      throw err;
    }
    const failed = await marking;
    if (failed !== undefined) throw failed;
    return { rows, drained };
  }

  /**
   * Sends a batch in id order, in produce requests that each fit the broker, and returns the rows
   * sent. A row that can never be published (larger than its topic accepts, headers that are not
   * JSON) is parked instead of failing the batch forever.
   *
   * Order per key: a parked row's LATER rows of the same topic and key are parked behind it
   * (STS_OUTBOX_HELD_BEHIND), not sent. Consumers deduplicate by event id but apply a key's
   * events in order, so letting a payout's later events overtake its unpublished earlier one
   * would show them a history that never happened. Holding only that key costs its events until
   * an operator fixes the parked row and clears parked_at on the key's rows (then they go out in
   * id order); every other key keeps flowing. Rows with a smaller id than the parked one
   * (committed late) are earlier in the key's history and still go out.
   */
  private async sendFitting(
    batch: OutboxRow[],
  ): Promise<{ sent: OutboxRow[]; byTopic: Map<string, number> }> {
    const held = await this.heldKeys();
    const ready: Ready[] = [];
    for (const row of batch) {
      const blocker = held.get(keyOf(row));
      if (blocker !== undefined && BigInt(row.id) > BigInt(blocker)) {
        await this.park(
          row,
          'STS_OUTBOX_HELD_BEHIND',
          `row ${blocker} of this topic and key is parked; this row waits behind it so the key's events stay in order`,
        );
        continue;
      }
      let message: Message;
      try {
        message = { key: row.msg_key, value: row.payload, headers: headersOf(row) };
      } catch (err) {
        const e = asStsError(err, { component: 'outbox-relay' });
        await this.park(row, e.code, e.message);
        held.set(keyOf(row), row.id);
        continue;
      }
      const bytes = messageBytes(message);
      const limit = await this.topicBudget(row.topic);
      if (bytes > limit) {
        await this.park(
          row,
          'STS_OUTBOX_ROW_TOO_LARGE',
          `the row's message is about ${bytes} bytes; ${row.topic} accepts at most ${limit} per request (max.message.bytes, maxRequestBytes)`,
        );
        held.set(keyOf(row), row.id);
        continue;
      }
      ready.push({ row, message, bytes, limit });
    }

    const queue = chunksOf(ready);
    const sent: OutboxRow[] = [];
    const byTopic = new Map<string, number>();
    while (queue.length > 0) {
      const chunk: Ready[] = [];
      // A key held by a broker refusal earlier in this loop holds its later rows here too.
      for (const item of queue.shift()!) {
        const blocker = held.get(keyOf(item.row));
        if (blocker !== undefined && BigInt(item.row.id) > BigInt(blocker))
          await this.park(
            item.row,
            'STS_OUTBOX_HELD_BEHIND',
            `row ${blocker} of this topic and key is parked; this row waits behind it so the key's events stay in order`,
          );
        else chunk.push(item);
      }
      if (chunk.length === 0) continue;
      try {
        await this.produce(chunk);
      } catch (err) {
        // Our size estimate is generous, but the broker has the last word: halve the request, and
        // park a row the broker refuses on its own. Anything else (an outage) fails the batch,
        // which is retried whole; rows already sent are sent again, which consumers absorb.
        if (!isTooLarge(err)) throw err;
        if (chunk.length === 1) {
          const only = chunk[0]!;
          await this.park(
            only.row,
            'STS_OUTBOX_ROW_TOO_LARGE',
            `the broker refused the row as too large (${only.bytes} bytes estimated): ${errorMessage(err)}`,
          );
          held.set(keyOf(only.row), only.row.id);
          continue;
        }
        const mid = Math.ceil(chunk.length / 2);
        queue.unshift(chunk.slice(0, mid), chunk.slice(mid));
        continue;
      }
      for (const item of chunk) {
        sent.push(item.row);
        byTopic.set(item.row.topic, (byTopic.get(item.row.topic) ?? 0) + 1);
      }
    }
    return { sent, byTopic };
  }

  /** Produces one request's rows, grouped by topic in id order, and waits for the ack. */
  private async produce(chunk: Ready[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const { row, message } of chunk) {
      let list = byTopic.get(row.topic);
      if (!list) byTopic.set(row.topic, (list = []));
      list.push(message);
    }
    const producer = await this.ensureProducer();
    const timer = this.metrics.latency.startTimer();
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    timer();
  }

  /**
   * The parked, unpublished rows' topic and key, each with the smallest parked id. Served by
   * ix_outbox_parked (a range on parked_at IS NOT NULL): parked rows are few, the published
   * history is never read.
   */
  private async heldKeys(): Promise<Map<string, string>> {
    const [rows] = (await this.db.raw(
      `SELECT topic, msg_key, CAST(MIN(id) AS CHAR) AS first_id, COUNT(*) AS n
         FROM outbox FORCE INDEX (ix_outbox_parked)
        WHERE parked_at IS NOT NULL AND published_at IS NULL
        GROUP BY topic, msg_key`,
    )) as [Array<{ topic: string; msg_key: string; first_id: string; n: number | string }>];
    this.metrics.parkedPending.set(rows.reduce((a, r) => a + Number(r.n), 0));
    return new Map(rows.map((r) => [keyOf(r), r.first_id]));
  }

  /** Sets a row aside with its reason: not published, not retried, visible to recon. */
  private async park(row: OutboxRow, code: ErrorCode, reason: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx.raw(
        `UPDATE outbox SET parked_at = NOW(3), park_reason = ? WHERE id = ${BigInt(row.id).toString()} AND published_at IS NULL`,
        [`${code}: ${reason}`.slice(0, 1000)],
      );
      await this.lease.fence(trx);
    });
    this.metrics.parked.inc({ topic: row.topic, code });
    this.metrics.parkedPending.inc();
    this.log.error(
      { outboxId: row.id, eventId: row.event_id, topic: row.topic, key: row.msg_key, code, reason },
      'outbox row parked: it is not published until fixed; fix the row, then clear parked_at on its key (UPDATE outbox SET parked_at = NULL, park_reason = NULL WHERE topic = ? AND msg_key = ? AND published_at IS NULL)',
    );
  }

  /**
   * Bytes one request to `topic` may carry: its max.message.bytes as the broker reports it
   * (requests carry one record batch per partition, which the broker checks against it), capped
   * by maxRequestBytes, less a margin for the request's framing. Read once per topic.
   */
  private topicBudget(topic: string): Promise<number> {
    let budget = this.topicLimits.get(topic);
    if (!budget) {
      budget = this.topicMaxBytes(topic).then(
        (max) => Math.min(this.options.maxRequestBytes, max ?? Number.POSITIVE_INFINITY) - 512,
      );
      this.topicLimits.set(topic, budget);
    }
    return budget;
  }

  private async topicMaxBytes(topic: string): Promise<number | undefined> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
        ],
      });
      const n = Number(
        res.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')
          ?.configValue,
      );
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      // Unknown: maxRequestBytes alone bounds the request, and a broker refusal still halves it.
      this.topicLimits.delete(topic);
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private runSerial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.serial.then(fn);
    this.serial = next.catch(() => undefined);
    return next;
  }

  private ensureProducer(): Promise<Producer> {
    if (!this.producerReady) {
      // Idempotent with one request in flight: the broker drops a retried duplicate and a retry
      // can never overtake the request after it, so per-partition order survives retries.
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2, so a key lands where every other client puts it.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.producer = producer;
      this.producerReady = producer.connect().then(() => producer);
      this.producerReady.catch(() => {
        this.producerReady = undefined;
      });
    }
    return this.producerReady;
  }

  /** A sleep that stop() cuts short, so shutdown never waits out a poll or back-off. */
  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

function headersOf(row: OutboxRow): IHeaders {
  let extra: Record<string, string> = {};
  if (row.headers) {
    try {
      extra = JSON.parse(row.headers) as Record<string, string>;
    } catch (err) {
      throw new OutboxBadRowError(row.id, row.event_id, err);
    }
  }
  return { ...extra, [EVENT_ID_HEADER]: row.event_id };
}

interface Ready {
  row: OutboxRow;
  message: Message;
  bytes: number;
  /** Bytes a request to the row's topic may carry. */
  limit: number;
}

const keyOf = (r: { topic: string; msg_key: string }) => `${r.topic}\u0000${r.msg_key}`;

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
