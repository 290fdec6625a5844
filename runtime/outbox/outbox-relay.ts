import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Knex } from 'knex';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { LockUnavailableError, StsError, asStsError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { NamedLock } from '../db/named-lock';
import { relayMetrics, type RelayMetrics } from './relay-metrics';
import { parseRelayOptions, type OutboxRelayOptions } from './relay-options';

/** Header carrying the outbox row's stable event id; consumers deduplicate on it. */
export const EVENT_ID_HEADER = 'sts-event-id';

export { OUTBOX_RELAY_DEFAULTS, parseRelayOptions, type OutboxRelayOptions } from './relay-options';

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
 * and a high-water mark would skip 5 forever.
 */
export function pendingQuery(db: Knex, limit: number): Knex.QueryBuilder {
  return db('outbox')
    .select('id', 'event_id', 'topic', 'msg_key', 'payload', 'headers')
    .select(db.raw('TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) AS age_us'))
    .whereNull('published_at')
    .orderBy('id')
    .limit(limit);
}

/**
 * Publishes `outbox` rows to Kafka. One relay per database is active at a time (a MySQL named
 * lock); the others stand by and take over when the active one's lock session ends. Rows go out
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
  private readonly lock: NamedLock;
  private producer: Producer | undefined;
  private producerReady: Promise<Producer> | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private lastPruneAt = 0;
  private publishedRows = 0;

  constructor(deps: OutboxRelayDeps, opts: Partial<OutboxRelayOptions> = {}) {
    this.options = parseRelayOptions(opts);
    this.db = deps.db;
    this.kafka = deps.kafka;
    this.log = deps.logger ?? createLogger('outbox-relay');
    this.metrics = relayMetrics(deps.metrics ?? defaultRegistry);
    this.lock = new NamedLock(this.db, this.options.lockName, (err) => {
      this.log.warn({ err, lock: this.lock.name }, 'relay lock session ended; stopping publishing');
      this.metrics.active.set(0);
    });
  }

  /** True while this relay holds the lock and may publish. */
  get isActive(): boolean {
    return this.lock.held;
  }

  /** CONNECTION_ID() of the lock session, when held. */
  get lockConnectionId(): number | undefined {
    return this.lock.held ? this.lock.connectionId : undefined;
  }

  /** Rows this instance has published since it was built. */
  get published(): number {
    return this.publishedRows;
  }

  /** Starts the poll loop in the background: standby until the lock is won, then publishing. */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.ensureProducer();
    this.running = true;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Finishes the batch in flight, releases the lock and disconnects the producer. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.serial.catch(() => undefined);
    await this.lock.release();
    this.metrics.active.set(0);
    const producer = this.producer;
    this.producer = undefined;
    this.producerReady = undefined;
    if (producer) await producer.disconnect().catch(() => undefined);
  }

  /**
   * Publishes one batch and returns how many rows went out. Takes the lock if nobody holds it;
   * throws LockUnavailableError (STS_LOCK_UNAVAILABLE) if another relay is active.
   */
  async runOnce(): Promise<number> {
    const next = this.serial.then(async () => {
      if (!this.lock.held && !(await this.lock.tryAcquire())) {
        throw new LockUnavailableError(
          this.lock.name ?? this.options.lockName,
          'another relay is active',
        );
      }
      return this.publishBatch();
    });
    this.serial = next.catch(() => undefined);
    return next;
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
        if (!this.lock.held) {
          this.metrics.active.set(0);
          if (wasActive) {
            // Just lost the lock: wait out two standby polls so the standby wins the hand-over
            // instead of this instance, whose session just proved unreliable.
            wasActive = false;
            await this.lock.release();
            await this.sleep(2 * this.options.lockRetryMs);
            continue;
          }
          if (!(await this.lock.tryAcquire())) {
            await this.sleep(this.options.lockRetryMs);
            continue;
          }
          this.metrics.active.set(1);
          wasActive = true;
          this.log.info({ lock: this.lock.name }, 'outbox relay is active');
        }
        const sent = await this.runSerial(() => this.publishBatch());
        if (Date.now() - this.lastPruneAt >= this.options.pruneIntervalMs) await this.prune();
        backoff = this.options.errorBackoffMs;
        if (sent < this.options.batchSize) await this.sleep(this.options.pollIntervalMs);
      } catch (err) {
        const e = asStsError(err, { component: 'outbox-relay' });
        this.metrics.errors.inc({ code: e.code });
        if (err instanceof LockUnavailableError) {
          // Stand by (the loop head waits): someone else may be publishing now, and a second
          // publisher would interleave a key's events.
          this.log.warn({ err: e }, 'outbox relay lost its lock; standing by');
          await this.lock.release();
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

  private async publishBatch(): Promise<number> {
    // Checked before every batch: a relay whose lock session died must not send what the new
    // active relay is sending, or the two would interleave a key's events.
    await this.lock.assertHeld();
    const t0 = performance.now();
    const rows = (await pendingQuery(this.db, this.options.batchSize)) as OutboxRow[];
    this.metrics.oldestPending.set(rows[0]?.age_us ? Number(rows[0].age_us) / 1e6 : 0);
    if (rows.length === 0) return 0;

    const byTopic = new Map<string, Message[]>();
    for (const row of rows) {
      let list = byTopic.get(row.topic);
      if (!list) byTopic.set(row.topic, (list = []));
      list.push({ key: row.msg_key, value: row.payload, headers: headersOf(row) });
    }
    const producer = await this.ensureProducer();
    const t1 = performance.now();
    const timer = this.metrics.latency.startTimer();
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    timer();
    const t2 = performance.now();

    // Only after the ack. The id list is rebuilt through BigInt so it can only hold integer
    // literals (typed comparison on the BIGINT key, DESIGN lesson 9), and it names exactly the
    // rows sent: a range would also mark a row that committed inside it after our SELECT.
    const ids = rows.map((r) => BigInt(r.id).toString()).join(',');
    await this.db.raw(
      `UPDATE outbox SET published_at = NOW(3) WHERE id IN (${ids}) AND published_at IS NULL`,
    );
    for (const [topic, messages] of byTopic) this.metrics.published.inc({ topic }, messages.length);
    this.publishedRows += rows.length;
    const ms = (a: number, b: number) => Math.round(b - a);
    const t3 = performance.now();
    this.log.debug(
      { rows: rows.length, readMs: ms(t0, t1), sendMs: ms(t1, t2), markMs: ms(t2, t3) },
      'outbox batch published',
    );
    return rows.length;
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
      throw new StsError(
        'STS_OUTBOX_BAD_ROW',
        `outbox row ${row.id} has headers that are not JSON`,
        {
          context: { component: 'outbox-relay', outboxId: row.id, eventId: row.event_id },
          fix: "correct the row's headers column; the relay retries it and everything queued after it",
          cause: err,
        },
      );
    }
  }
  return { ...extra, [EVENT_ID_HEADER]: row.event_id };
}
