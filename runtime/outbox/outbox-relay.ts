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
 * and a high-water mark would skip 5 forever. `inFlight` names the rows of the batch whose mark is
 * still running: they are sent but still NULL, and must not be read again.
 */
export function pendingQuery(
  db: Knex,
  limit: number,
  inFlight: readonly string[] = [],
): Knex.QueryBuilder {
  const q = db('outbox')
    .select('id', 'event_id', 'topic', 'msg_key', 'payload', 'headers')
    .select(db.raw('TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) AS age_us'))
    .whereNull('published_at');
  // Integer literals through BigInt, as in the mark: a string bound against the BIGINT key would
  // compare as DOUBLE and lose the low digits of an 18-digit id (DESIGN lesson 9).
  if (inFlight.length > 0)
    q.whereRaw(`id NOT IN (${inFlight.map((id) => BigInt(id).toString()).join(',')})`);
  return q.orderBy('id').limit(limit);
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
    return this.withLock(async () => (await this.publishRun(1)).rows);
  }

  /**
   * Publishes until the outbox has no unpublished row left (batches pipelined as in the running
   * relay) and returns how many rows went out. Same lock rule as runOnce.
   */
  async drain(): Promise<number> {
    return this.withLock(async () => (await this.publishRun(Number.POSITIVE_INFINITY)).rows);
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.runSerial(async () => {
      if (!this.lock.held && !(await this.lock.tryAcquire())) {
        throw new LockUnavailableError(
          this.lock.name ?? this.options.lockName,
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
        // Checked before every batch: a relay whose lock session died must not send what the new
        // active relay is sending, or the two would interleave a key's events.
        await this.lock.assertHeld();
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
        const byTopic = await this.send(batch);
        const t2 = performance.now();
        const failed = await marking;
        if (failed !== undefined) throw failed;
        // Only after the ack, and after the previous batch is marked (see the class comment).
        // The id list is rebuilt through BigInt so it can only hold integer literals (typed
        // comparison on the BIGINT key, DESIGN lesson 9), and it names exactly the rows sent: a
        // range would also mark a row that committed inside it after our SELECT.
        inFlight = batch.map((r) => BigInt(r.id).toString());
        const ids = inFlight.join(',');
        const t3 = performance.now();
        marking = this.db
          .raw(
            `UPDATE outbox SET published_at = NOW(3) WHERE id IN (${ids}) AND published_at IS NULL`,
          )
          .then(
            () => {
              for (const [topic, count] of byTopic) this.metrics.published.inc({ topic }, count);
              this.publishedRows += batch.length;
              const ms = (a: number, b: number) => Math.round(b - a);
              this.log.debug(
                {
                  rows: batch.length,
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
        rows += batch.length;
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

  /** Produces one batch and waits for the ack; returns the message count per topic. */
  private async send(batch: OutboxRow[]): Promise<Map<string, number>> {
    const byTopic = new Map<string, Message[]>();
    for (const row of batch) {
      let list = byTopic.get(row.topic);
      if (!list) byTopic.set(row.topic, (list = []));
      list.push({ key: row.msg_key, value: row.payload, headers: headersOf(row) });
    }
    const producer = await this.ensureProducer();
    const timer = this.metrics.latency.startTimer();
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    timer();
    return new Map([...byTopic].map(([topic, messages]) => [topic, messages.length]));
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
