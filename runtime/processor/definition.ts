import type { IHeaders, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { StsConfig } from '../config';
import type { Knex } from '../db/knex';
import type { Logger } from '../logger';
import type { OutboxMessage, OutboxTopic, OutboxWriter } from '../outbox/outbox-writer';
import type { AvroCodec } from '../registry/avro-codec';
import type { ProcessorOptions } from './processor-options';
import type { Stoppable } from './shutdown';

/** One decoded input record with its Kafka coordinates. Offsets and timestamps stay strings. */
export interface InputRecord<T> {
  value: T;
  key: string | null;
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  headers: IHeaders;
}

/** What a handler gets for one transaction's worth of records. */
export interface BatchContext {
  /** The batch's transaction: every effect goes through it, and it commits before the offsets. */
  trx: Knex.Transaction;
  /** Events to publish, written to the outbox inside `trx` (so they exist iff the effect does). */
  outbox: { add<T>(to: OutboxTopic<T>, messages: Array<OutboxMessage<T>>): Promise<void> };
  /** Carries processor, topic, partition and the sub-batch's offset range. */
  logger: Logger;
}

/**
 * A processor: one consumer group over its own input topic (docs/DESIGN.md, "Topology").
 *
 * `handleBatch` MUST be idempotent per record through the database's unique keys: a batch cut
 * off by a crash or a rebalance after its transaction committed but before its offsets did is
 * delivered again, and must then change nothing.
 */
export interface ProcessorDefinition<T> {
  name: string;
  group: string;
  topic: string;
  /** Avro reader schema; writer schemas (by id) resolve into it, so v2 events read as v1. */
  readerSchema?: object;
  /** The processor's own option defaults (a deployment's overrides still win). */
  options?: ProcessorOverrides;
  /** Throw ValidationError for a record that breaks the contract; it goes to the DLQ. */
  validate?(value: T, record: InputRecord<T>): void;
  handleBatch(ctx: BatchContext, records: Array<InputRecord<T>>): Promise<void>;
  /**
   * Work that lives beside the consumer in the same process and shares its clients (for
   * payment-notify: the gateway lanes and the delay-queue compensator). Started before the
   * consumer joins, because handleBatch may hand work to it; stopped after the consumer has left
   * its group, so nothing hands it records any more.
   */
  companion?(ctx: CompanionContext): Promise<Stoppable>;
}

/** What a processor's companion gets: the processor's clients and a switch for its consumption. */
export interface CompanionContext {
  deps: ProcessorDeps;
  logger: Logger;
  /** Stops fetching every partition of the processor's topic until resumeConsumption(). Idempotent. */
  pauseConsumption(): void;
  /** Undoes pauseConsumption(). Idempotent. */
  resumeConsumption(): void;
}

export interface ProcessorDeps {
  config: Pick<StsConfig, 'kafkaBrokers'>;
  db: Knex;
  kafka: Kafka;
  codec: AvroCodec;
  outbox: OutboxWriter;
  logger: Logger;
  /** prom-client registry for the processor metrics; the global one by default. */
  metricsRegistry?: Registry;
}

export type ProcessorOverrides = Partial<ProcessorOptions>;
