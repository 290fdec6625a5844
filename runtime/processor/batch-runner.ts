import type avro from 'avsc';
import type { KafkaMessage } from 'kafkajs';
import type { Knex } from '../db/knex';
import { RetriesExhaustedError } from './processor-errors';
import type { Logger } from '../logger';
import type { OutboxWriter } from '../outbox/outbox-writer';
import type { AvroCodec } from '../registry/avro-codec';
import { parseAvro } from '../registry/avro-types';
import { createBatchContext } from './batch-context';
import type { InputRecord, ProcessorDefinition } from './definition';
import type { DeadLetter, DlqPublisher } from './dlq-publisher';
import type { ProcessorMetrics } from './processor-metrics';
import type { ProcessorOptions } from './processor-options';
import { backoffDelay, errorCode, isRetriable } from './retry-policy';

/** What the runner needs from the consumer for the partition batch it is working on. */
export interface PartitionControl {
  /** Heartbeats the group (kafkajs throttles it); throws when a rebalance took the partition. */
  heartbeat(): Promise<void>;
  /** False once stop() was called: finish the current sub-batch, start no new one. */
  isRunning(): boolean;
  /** True when the partition was revoked or seeked: the rest of the batch is someone else's. */
  isStale(): boolean;
  /** Stops fetching this partition; returns the resume function. */
  pause(): () => void;
  /** Commits `nextOffset` (last processed offset + 1) for this partition. */
  commit(nextOffset: string): Promise<void>;
}

/** Thrown to leave a batch without committing it (stopping, or the partition moved away). */
export class BatchAborted extends Error {}

/** A non-retriable failure of one attempt, wrapped so it is never confused with a Kafka error. */
class AttemptFailed {
  constructor(readonly error: unknown) {}
}

/**
 * What a retry loop does once its attempts are used up.
 * - `record`: the work is one record's (or one sub-batch's) transaction. Probe the database: if it
 *   answers, the input is what fails, so give up with STS_RETRIES_EXHAUSTED (the caller isolates or
 *   dead-letters); if not, it is an outage, so keep retrying with a fresh budget.
 * - `escalate`: the failing thing is a dependency with no record to blame (the registry during a
 *   decode, the broker during a DLQ publish). Dead-lettering would lose good input and skipping
 *   would lose the letter, so keep retrying, but loudly: an error log per bound, the exhausted
 *   counter and the stalled-partitions gauge, while the committed offset standing still makes the
 *   lag monitor report the partition STALLED.
 */
type RetryMode = { kind: 'record'; records: number } | { kind: 'escalate'; what: string };

interface Decoded<T> {
  record: InputRecord<T>;
  message: KafkaMessage;
}

export interface BatchRunnerDeps {
  db: Knex;
  codec: AvroCodec;
  outbox: OutboxWriter;
  dlq: DlqPublisher;
  metrics: ProcessorMetrics;
  options: ProcessorOptions;
  logger: Logger;
}

/**
 * One avsc Type per distinct reader schema in the process. AvroCodec caches resolvers by schema
 * id and reader fingerprint, and avsc refuses a resolver built for another Type instance
 * ("invalid resolver"); a second processor (or a restart in the same process) parsing its own
 * copy of the same schema would then dead-letter every record it reads.
 */
const readerTypes = new Map<string, avro.Type>();
function readerType(schema: object): avro.Type {
  const text = JSON.stringify(schema);
  let type = readerTypes.get(text);
  if (!type) {
    type = parseAvro(schema);
    readerTypes.set(text, type);
  }
  return type;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one fetched partition batch: decode, validate, dead-letter the bad records, apply the good
 * ones in one transaction per sub-batch, and only THEN commit the offsets. The order is the
 * exactly-once argument (docs/DESIGN.md, "Guarantees"): a crash at any point either loses an
 * uncommitted transaction (the records come back) or repeats a committed one (its unique keys make
 * it a no-op).
 */
export class BatchRunner<T> {
  private readonly reader?: avro.Type;

  constructor(
    private readonly def: ProcessorDefinition<T>,
    private readonly deps: BatchRunnerDeps,
  ) {
    this.reader = def.readerSchema ? readerType(def.readerSchema) : undefined;
    // Exported at 0 from the start, so a dashboard tells "no stalled partition" from "no data".
    deps.metrics.stalledPartitions.inc({ processor: def.name }, 0);
  }

  async run(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    control: PartitionControl,
  ): Promise<void> {
    const { options, metrics } = this.deps;
    const labels = { processor: this.def.name };
    for (let i = 0; i < messages.length; i += options.maxRecordsPerTransaction) {
      // Stop between sub-batches: everything before is committed, everything after is redelivered.
      if (!control.isRunning() || control.isStale()) return;
      const chunk = messages.slice(i, i + options.maxRecordsPerTransaction);
      const last = chunk[chunk.length - 1]!;
      const logger = this.deps.logger.child({
        topic,
        partition,
        firstOffset: chunk[0]!.offset,
        lastOffset: last.offset,
      });
      const stopTimer = metrics.batchSeconds.startTimer(labels);
      metrics.inFlight.inc(labels, chunk.length);
      try {
        const dead: DeadLetter[] = [];
        const good: Array<Decoded<T>> = [];
        for (const message of chunk) {
          const outcome = await this.withRetry(
            logger,
            control,
            () => this.decode(topic, partition, message),
            { kind: 'escalate', what: 'decoding (schema registry)' },
          );
          if (outcome instanceof AttemptFailed)
            dead.push({ topic, partition, message, error: outcome.error });
          else good.push(outcome);
        }
        dead.push(...(await this.apply(good, logger, control)));
        if (dead.length > 0) {
          // Dead letters are durable before the offsets move past them, or they would be lost.
          // Heartbeating while it runs: the producer's own retries (a missing DLQ topic, a broker
          // failing over) can take longer than sessionTimeout, and an evicted member would hand
          // the partition back and start over, never reaching the escalation below.
          await this.withRetry(
            logger,
            control,
            () => this.heartbeating(control, logger, () => this.deps.dlq.publish(dead)),
            {
              kind: 'escalate',
              what: 'publishing dead letters',
            },
          );
          for (const d of dead) {
            metrics.dlq.inc({ ...labels, code: errorCode(d.error) });
            logger.warn(
              { offset: d.message.offset, code: errorCode(d.error), err: d.error },
              'record sent to the DLQ',
            );
          }
        }
        await control.commit((BigInt(last.offset) + 1n).toString());
        await control.heartbeat();
        metrics.records.inc({ ...labels, outcome: 'ok' }, chunk.length - dead.length);
        if (dead.length > 0) metrics.records.inc({ ...labels, outcome: 'dlq' }, dead.length);
        logger.debug({ records: chunk.length, dlq: dead.length }, 'sub-batch committed');
      } finally {
        metrics.inFlight.dec(labels, chunk.length);
        stopTimer();
      }
    }
  }

  /** Decoded record, AttemptFailed for a poison message; throws only what is worth retrying. */
  private async decode(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<Decoded<T> | AttemptFailed> {
    const context = { topic, partition, offset: message.offset };
    try {
      const { value } = await this.deps.codec.decode<T>(message.value, context, this.reader);
      const record: InputRecord<T> = {
        value,
        key: message.key ? message.key.toString('utf8') : null,
        topic,
        partition,
        offset: message.offset,
        timestamp: message.timestamp,
        headers: message.headers ?? {},
      };
      this.def.validate?.(value, record);
      return { record, message };
    } catch (err) {
      // A registry outage is retriable (the codec says so); a bad payload never heals.
      if (isRetriable(err)) throw err;
      return new AttemptFailed(err);
    }
  }

  /**
   * Applies the good records in one transaction. If that fails for a reason retrying cannot fix,
   * one record is poison: redo the records one transaction each, so the poison one alone goes to
   * the DLQ and its neighbours still take effect.
   */
  private async apply(
    good: Array<Decoded<T>>,
    logger: Logger,
    control: PartitionControl,
  ): Promise<DeadLetter[]> {
    if (good.length === 0) return [];
    const whole = await this.withRetry(
      logger,
      control,
      () => this.transact(good, logger, control),
      {
        kind: 'record',
        records: good.length,
      },
    );
    if (!(whole instanceof AttemptFailed)) return [];
    if (good.length === 1) return [this.deadLetter(good[0]!, whole.error)];
    logger.warn(
      { code: errorCode(whole.error), err: whole.error, records: good.length },
      'batch failed; isolating the poison record one by one',
    );
    const dead: DeadLetter[] = [];
    for (const one of good) {
      const outcome = await this.withRetry(
        logger,
        control,
        () => this.transact([one], logger, control),
        { kind: 'record', records: 1 },
      );
      if (outcome instanceof AttemptFailed) dead.push(this.deadLetter(one, outcome.error));
    }
    return dead;
  }

  private async transact(
    items: Array<Decoded<T>>,
    logger: Logger,
    control: PartitionControl,
  ): Promise<void | AttemptFailed> {
    // kafkajs heartbeats only when told to; a transaction slower than sessionTimeout would get
    // this member evicted mid-batch. A failed heartbeat (rebalance) is only logged: the
    // transaction still commits, and its offset commit then fails, so the next owner of the
    // partition redelivers records whose effects are already there (a no-op by their keys).
    try {
      await this.heartbeating(control, logger, () =>
        this.deps.db.transaction(async (trx) => {
          await this.def.handleBatch(
            createBatchContext(trx, this.deps.outbox, logger),
            items.map((d) => d.record),
          );
        }),
      );
    } catch (err) {
      if (isRetriable(err)) throw err;
      return new AttemptFailed(err);
    }
  }

  /** Runs `fn` while heartbeating the group every heartbeatInterval; a failed beat is logged. */
  private async heartbeating<R>(
    control: PartitionControl,
    logger: Logger,
    fn: () => Promise<R>,
  ): Promise<R> {
    const beat = setInterval(() => {
      control
        .heartbeat()
        .catch((err: unknown) => logger.warn({ err }, 'heartbeat failed during a long step'));
    }, this.deps.options.heartbeatInterval);
    try {
      return await fn();
    } finally {
      clearInterval(beat);
    }
  }

  private deadLetter(d: Decoded<T>, error: unknown): DeadLetter {
    return { topic: d.record.topic, partition: d.record.partition, message: d.message, error };
  }

  /**
   * Retries `fn` while it throws retriable errors, capped in delay, heartbeating while it waits so
   * the group keeps the partition, and pausing the partition's fetches once the trouble lasts.
   *
   * Bounded: after `retryMaxAttempts` failures the loop acts by `mode` (see RetryMode). In
   * `record` mode a failure that outlives its budget while the database answers `SELECT 1` ends as
   * AttemptFailed(RetriesExhaustedError): one record can never hold a partition, nor every cycle
   * close waiting on its watermark, forever. A failed probe means an outage: the budget starts
   * over and nothing is dead-lettered, because a database outage is not the records' fault.
   */
  private async withRetry<R>(
    logger: Logger,
    control: PartitionControl,
    fn: () => Promise<R>,
    mode: RetryMode,
  ): Promise<R | AttemptFailed> {
    const { options, metrics } = this.deps;
    const labels = { processor: this.def.name };
    const started = Date.now();
    let resume: (() => void) | undefined;
    let stalled = false;
    try {
      // `attempt` drives the backoff and never resets, so an outage keeps the capped delay;
      // `budget` counts the failures since the last verdict and does reset.
      for (let attempt = 0, budget = 0; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (!isRetriable(err)) throw err;
          // On shutdown, give the batch back uncommitted rather than block stop() on an outage.
          if (!control.isRunning() || control.isStale())
            throw new BatchAborted('stopping during retries');
          const code = errorCode(err);
          metrics.retries.inc({ ...labels, code });
          budget++;
          if (budget >= options.retryMaxAttempts) {
            budget = 0;
            if (mode.kind === 'record' && (await this.databaseAnswers())) {
              // A sub-batch that gives up is isolated record by record (apply); one record that
              // gives up alone is the one dead-lettered.
              const outcome = mode.records > 1 ? 'isolated' : 'dead_lettered';
              metrics.retriesExhausted.inc({ ...labels, code, outcome });
              const message = String((err as { message?: unknown } | null)?.message ?? err);
              return new AttemptFailed(
                new RetriesExhaustedError(code, message, attempt + 1, Date.now() - started, err),
              );
            }
            const outcome = mode.kind === 'record' ? 'outage' : 'escalated';
            metrics.retriesExhausted.inc({ ...labels, code, outcome });
            if (!stalled) {
              stalled = true;
              metrics.stalledPartitions.inc(labels);
            }
            logger.error(
              {
                attempts: attempt + 1,
                elapsedMs: Date.now() - started,
                code,
                err,
                ...(mode.kind === 'escalate' ? { during: mode.what } : {}),
              },
              mode.kind === 'record'
                ? 'database unreachable: partition stalled, still retrying (nothing is dead-lettered for an outage)'
                : `${mode.what} keeps failing: partition stalled, still retrying`,
            );
          }
          const delay = backoffDelay(attempt, {
            initialDelayMs: options.retryInitialDelayMs,
            maxDelayMs: options.retryMaxDelayMs,
          });
          logger.warn(
            { attempt: attempt + 1, delayMs: delay, code, err },
            'retriable failure; retrying',
          );
          if (!resume && Date.now() - started >= options.pauseAfterRetryMs)
            resume = control.pause();
          await this.sleepHeartbeating(delay, control);
        }
      }
    } finally {
      if (stalled) metrics.stalledPartitions.dec(labels);
      resume?.();
    }
  }

  /** True when the database runs `SELECT 1` within dependencyProbeTimeoutMs. */
  private async databaseAnswers(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.deps.options.dependencyProbeTimeoutMs);
    });
    // A probe left behind by the timeout must not become an unhandled rejection.
    const probe = this.deps.db.raw('SELECT 1').then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async sleepHeartbeating(ms: number, control: PartitionControl): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await sleep(Math.min(left, this.deps.options.heartbeatInterval));
      await control.heartbeat();
      if (!control.isRunning() || control.isStale())
        throw new BatchAborted('stopping during retries');
    }
  }
}
