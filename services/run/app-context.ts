import type { Kafka } from 'kafkajs';
import type { StsConfig } from '../../runtime/config';
import { createDb, type Knex } from '../../runtime/db/knex';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { createKafka } from '../../runtime/kafka/client';
import { createLogger, type Logger } from '../../runtime/logger';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';

/**
 * The shared clients of one process (CLI command, `sts run`, ops API): one knex pool, one Kafka
 * client, one registry client and codec, and one leased id generator. Built once per process so
 * that every part shares the pool limits and the single worker lease.
 */
export interface AppContext {
  config: StsConfig;
  db: Knex;
  kafka: Kafka;
  registry: RegistryClient;
  codec: AvroCodec;
  outbox: OutboxWriter;
  logger: Logger;
  /** Leased on first use: commands that mint no ids never hold a worker id. */
  ids(): Promise<SnowflakeGenerator>;
  close(): Promise<void>;
}

export function createAppContext(config: StsConfig, name: string, opts: { pool?: number; logLevel?: string } = {}): AppContext {
  const logger = createLogger(name, opts.logLevel ?? config.logLevel);
  const db = createDb(config.mysqlUrl, { pool: opts.pool ?? 10 });
  // The pid in the client id tells two instances on one host apart in a group's member list
  // (the owner column of `sts lag`), where every member would otherwise read sts-run@127.0.0.1.
  const kafka = createKafka(config, `${name}-${process.pid}`);
  const registry = new RegistryClient(config.schemaRegistryUrl);
  const codec = new AvroCodec(registry, { maxRecordBytes: config.maxRecordBytes });
  let lease: Promise<WorkerLease> | undefined;
  // One generator per lease: two generators on one worker id would mint the same ids.
  let generator: Promise<SnowflakeGenerator> | undefined;
  return {
    config,
    db,
    kafka,
    registry,
    codec,
    outbox: new OutboxWriter(codec, registry),
    logger,
    async ids() {
      lease ??= WorkerLease.acquire(db, { datacenterId: 0, owner: name });
      generator ??= lease.then((l) => new SnowflakeGenerator(l));
      return generator;
    },
    async close() {
      if (lease) await (await lease).release().catch(() => undefined);
      await db.destroy();
    },
  };
}
