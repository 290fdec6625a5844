/**
 * Processor runtime throughput: `npx tsx bench/runtime-throughput.ts [records] [naiveRecords]`.
 *
 * Inputs: the local stack (STS_* variables); a scratch database, topics and groups it creates
 *   and drops. Defaults: 200,000 records for the batched runtime, 5,000 for the naive baseline.
 * Output: its result (bench-result.ts) on stdout and in STS_DATA_DIR/bench/runtime-throughput.json.
 * Failure: exits 1 if either run loses or duplicates an effect (the count and sum are checked).
 *
 * Both runs apply the same exactly-once effect: one upsert per record into a table whose primary
 * key is the record's business key. "batched" is the runtime as shipped (one transaction and one
 * offset commit per sub-batch, the upsert as one bulk INSERT ... ON DUPLICATE KEY UPDATE).
 * "naive" is the same runtime with one record per transaction: a transaction and an offset
 * commit per message, which is what a hand-written eachMessage consumer does.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { loadConfig, withDatabase } from '../runtime/config';
import { createDb, type Knex } from '../runtime/db/knex';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopicList } from '../runtime/kafka/topic-admin';
import { createLogger } from '../runtime/logger';
import { OutboxWriter } from '../runtime/outbox/outbox-writer';
import type { ProcessorOverrides } from '../runtime/processor/definition';
import { runProcessor } from '../runtime/processor/processor';
import { AvroCodec } from '../runtime/registry/avro-codec';
import { RegistryClient } from '../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../runtime/topology/types';
import { dropDatabase, ensureDatabase } from '../infra/mysql-server';
import { runBench } from './bench-main';
import { figure, ratioOf, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';

const SCHEMA = {
  type: 'record',
  name: 'BenchEvent',
  namespace: 'sts.bench',
  fields: [
    { name: 'item_id', type: 'long' },
    { name: 'shop_user_id', type: 'long' },
    { name: 'amount_minor', type: 'long' },
  ],
};
interface BenchEvent {
  item_id: bigint;
  shop_user_id: bigint;
  amount_minor: bigint;
}
const ID_BASE = 652024209997893632n;
const PARTITIONS = 4;

const config = loadConfig();
const kafka = createKafka(config, 'sts-bench');
const registry = new RegistryClient(config.schemaRegistryUrl);
const codec = new AvroCodec(registry);
const logger = createLogger('bench', 'warn');
const run = crypto.randomBytes(3).toString('hex');

async function admin<R>(k: Kafka, fn: (a: ReturnType<Kafka['admin']>) => Promise<R>): Promise<R> {
  const a = k.admin();
  await a.connect();
  try {
    return await fn(a);
  } finally {
    await a.disconnect();
  }
}

async function prepareTopic(name: string, count: number): Promise<string> {
  const topic = `bench.${name}.${run}`;
  await ensureTopicList(kafka, [
    { topic, numPartitions: PARTITIONS },
    { topic: dlqTopic(topic), numPartitions: 1 },
  ]);
  const schemaId = await registry.register(valueSubject(topic), JSON.stringify(SCHEMA));
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  for (let from = 0; from < count; from += 10_000) {
    const messages = [];
    for (let i = from; i < Math.min(count, from + 10_000); i++) {
      const shop = ID_BASE + BigInt(i % 5000);
      const value = await codec.encode(schemaId, {
        item_id: ID_BASE + BigInt(i),
        shop_user_id: shop,
        amount_minor: BigInt((i % 997) + 1),
      });
      messages.push({ key: shop.toString(), value });
    }
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
  return topic;
}

/** Runs a processor over `topic` until `count` records have taken effect; returns records/s. */
async function measure(
  db: Knex,
  table: string,
  topic: string,
  count: number,
  overrides: ProcessorOverrides,
): Promise<number> {
  await db.schema.createTable(table, (t) => {
    t.bigInteger('item_id').unsigned().primary();
    t.bigInteger('shop_user_id').notNullable();
    t.bigInteger('amount_minor').notNullable();
  });
  let done = 0;
  let first = 0;
  let finish!: () => void;
  const finished = new Promise<void>((res) => (finish = res));
  const handle = await runProcessor<BenchEvent>(
    {
      name: `bench-${table}`,
      group: `bench.${table}.${run}`,
      topic,
      readerSchema: SCHEMA,
      async handleBatch(ctx, records) {
        first ||= Date.now();
        const rows = records.map((r) => ({
          item_id: r.value.item_id,
          shop_user_id: r.value.shop_user_id,
          amount_minor: r.value.amount_minor,
        }));
        await ctx.trx(table).insert(rows).onConflict('item_id').merge(['amount_minor']);
      },
    },
    {
      config,
      db,
      kafka,
      codec,
      outbox: new OutboxWriter(codec, registry),
      logger,
      metricsRegistry: new Registry(),
    },
    overrides,
  );
  // Counted after the offsets commit, by polling the metric-free ground truth: committed offsets.
  const poll = setInterval(() => {
    void admin(kafka, (a) =>
      a.fetchOffsets({ groupId: `bench.${table}.${run}`, topics: [topic] }),
    ).then(([t]) => {
      done = (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      if (done >= count) finish();
    });
  }, 100);
  await finished;
  const seconds = (Date.now() - first) / 1000;
  clearInterval(poll);
  await handle.stop();
  const [row] = await db(table).count({ n: '*' });
  if (Number(row?.n) !== count)
    throw new Error(`${table}: ${String(row?.n)} effects for ${count} records`);
  return count / seconds;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 200_000);
  const naiveRecords = Number(process.argv[3] ?? 5_000);
  const dbName = `sts_bench_${run}`;
  await ensureDatabase(config.mysqlUrl, dbName);
  const db = createDb(withDatabase(config.mysqlUrl, dbName));
  const topics: string[] = [];
  try {
    process.stdout.write(`producing ${records} + ${naiveRecords} records...\n`);
    topics.push(await prepareTopic('batched', records), await prepareTopic('naive', naiveRecords));
    const batched = await measure(db, 'batched_effect', topics[0]!, records, {
      maxRecordsPerTransaction: 2000,
    });
    const naive = await measure(db, 'naive_effect', topics[1]!, naiveRecords, {
      maxRecordsPerTransaction: 1,
    });
    const record: RuntimeRecord = {
      machine: { cpus: os.cpus().length, node: process.version },
      batched: { records, recordsPerSecond: Math.round(batched), maxRecordsPerTransaction: 2000 },
      naive: {
        records: naiveRecords,
        recordsPerSecond: Math.round(naive),
        maxRecordsPerTransaction: 1,
      },
    };
    writeBenchResult(config.dataDir, runtimeResult(record));
  } finally {
    await db.destroy();
    await dropDatabase(config.mysqlUrl, dbName).catch(() => undefined);
    const all = topics.flatMap((t) => [t, dlqTopic(t)]);
    if (all.length > 0)
      await admin(kafka, (a) => a.deleteTopics({ topics: all })).catch(() => undefined);
  }
}

export interface RuntimeRecord {
  machine: { cpus: number; node: string };
  batched: { records: number; recordsPerSecond: number; maxRecordsPerTransaction: number };
  naive: { records: number; recordsPerSecond: number; maxRecordsPerTransaction: number };
}

export function runtimeResult(r: RuntimeRecord): BenchResultBody {
  return {
    name: 'runtime-throughput',
    size: `${fmt(r.batched.records)} records (naive baseline: ${fmt(r.naive.records)})`,
    figures: {
      recordsPerSecond: figure(r.batched.recordsPerSecond, 'records/s'),
      naiveRecordsPerSecond: figure(r.naive.recordsPerSecond, 'records/s'),
      timesNaive: figure(ratioOf(r.batched.recordsPerSecond, r.naive.recordsPerSecond), '×', 1),
    },
    comparisons: [
      {
        measure: `records/s, runtime batching up to ${fmt(r.batched.maxRecordsPerTransaction)} records per transaction`,
        figure: 'recordsPerSecond',
        reference: 'naive: one transaction and one offset commit per message',
        referenceFigure: 'naiveRecordsPerSecond',
      },
    ],
    targets: [
      { text: '≥ 30,000 records/s', source: 'issue 3', figure: 'recordsPerSecond', op: '>=', threshold: 30_000 },
      { text: '≥ 10× the naive baseline', source: 'issue 3', figure: 'timesNaive', op: '>=', threshold: 10 },
    ],
    notes: [],
    data: r,
  };
}

if (require.main === module) runBench(main);
