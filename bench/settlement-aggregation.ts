/**
 * Settlement aggregation throughput beside two references measured in the same run:
 * `npx tsx bench/settlement-aggregation.ts [events] [naiveEvents]` (defaults 1,000,000 and 5,000).
 *
 * Inputs: the local stack (STS_* variables). It creates a scratch database and topics (12
 *   partitions, like sts.order-events.v1) and drops them at the end.
 * Runs:
 *   1. Kafka's own ConsumerPerformance (kafka-tools, the broker's jars) reading the same topic:
 *      the ceiling for merely consuming these records;
 *   2. the settlement-aggregation processor as shipped, exactly-once effects included: a billing
 *      item, the seller's balance and a commission request in the outbox per event, one
 *      transaction per sub-batch, offsets after commit;
 *   3. the naive baseline: the same processor with one event per transaction.
 * Output: events/s of each, as its result (bench-result.ts) on stdout and in
 *   STS_DATA_DIR/bench/settlement-aggregation.json.
 * Failure: exits 1 if an event is lost or applied twice (item count and sum are checked).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { loadConfig, PROJECT_ROOT, withDatabase, type StsConfig } from '../runtime/config';
import { createDb, type Knex } from '../runtime/db/knex';
import { migrateLatest } from '../runtime/db/migrate';
import { SnowflakeGenerator } from '../runtime/ids/snowflake';
import { WorkerLease } from '../runtime/ids/worker-lease';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopicList } from '../runtime/kafka/topic-admin';
import { createLogger } from '../runtime/logger';
import { OutboxWriter } from '../runtime/outbox/outbox-writer';
import { runProcessor } from '../runtime/processor/processor';
import { processorMetrics } from '../runtime/processor/processor-metrics';
import type { ProcessorOverrides } from '../runtime/processor/definition';
import { AvroCodec } from '../runtime/registry/avro-codec';
import { RegistryClient } from '../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../runtime/topology/types';
import { dropDatabase, ensureDatabase } from '../infra/mysql-server';
import { settlementAggregation } from '../processors/settlement-aggregation/processor';
import { orderStream } from '../tools/orders/synthetic-orders';
import { consumerPerformance } from './kafka-perf-tools';
import { benchMysql, describeServer, serverNote, type ServerDescription } from './bench-mysql';
import { runBench } from './bench-main';
import { figure, sizeNote, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';

const PARTITIONS = 12;

async function main(): Promise<void> {
  const { values: flags, positionals } = parseArgs({ options: { 'private-mysql': { type: 'string' } }, allowPositionals: true });
  const events = Number(positionals[0] ?? 1_000_000);
  const naiveEvents = Number(positionals[1] ?? 5_000);
  const tag = Date.now().toString(36);
  const server = await benchMysql(loadConfig(), flags['private-mysql'], tag);
  const config = server.config;
  const kafka = createKafka(config, 'bench-aggregation');
  const dbName = `sts_bench_agg_${tag}`;
  await ensureDatabase(config.mysqlUrl, dbName);
  const db = createDb(withDatabase(config.mysqlUrl, dbName), { pool: 10 });
  const registry = new RegistryClient(config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const topics = { main: `bench.orders.${tag}`, naive: `bench.orders-naive.${tag}`, commission: `bench.commission.${tag}` };
  const logger = createLogger('bench-aggregation', 'warn');
  try {
    const mysqlServer = await describeServer(db, server.private);
    process.stdout.write(`mysql: ${JSON.stringify(mysqlServer)}\n`);
    await migrateLatest(db);
    await ensureTopicList(kafka, [
      { topic: topics.main, numPartitions: PARTITIONS },
      { topic: topics.naive, numPartitions: PARTITIONS },
      { topic: topics.commission, numPartitions: PARTITIONS },
      { topic: dlqTopic(topics.main), numPartitions: 1 },
      { topic: dlqTopic(topics.naive), numPartitions: 1 },
    ]);
    const schema = fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8');
    await registry.register(valueSubject(topics.main), schema);
    await registry.register(valueSubject(topics.naive), schema);
    await registry.register(valueSubject(topics.commission), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'commission-request.avsc'), 'utf8'));

    // Completed orders only, 10,000 sellers, occurring now: every event is one item, one balance
    // move and one commission request.
    const when = new Date();
    process.stdout.write(`producing ${events} + ${naiveEvents} events…\n`);
    const mainSum = await produce(kafka, codec, registry, topics.main, events, 'm', when);
    const naiveSum = await produce(kafka, codec, registry, topics.naive, naiveEvents, 'n', when);

    const perf = (await consumerPerformance(config.dataDir, config.kafkaBrokers[0]!, topics.main, events, `bench.cperf.${tag}`)).recordsPerSecond;
    process.stdout.write(`ConsumerPerformance: ${perf} records/s\n`);

    const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'bench-aggregation' });
    const ids = new SnowflakeGenerator(lease);
    const batched = await measure(config, db, kafka, codec, registry, logger, ids, topics.main, topics.commission, `bench.agg.${tag}`, events, mainSum, {});
    process.stdout.write(`aggregation: ${batched} events/s\n`);
    await db('billing_item').del();
    await db('settlement_account').del();
    await db('outbox').del();
    const naive = await measure(config, db, kafka, codec, registry, logger, ids, topics.naive, topics.commission, `bench.agg-naive.${tag}`, naiveEvents, naiveSum, { maxRecordsPerTransaction: 1 });
    process.stdout.write(`naive: ${naive} events/s\n`);
    await lease.release();

    writeBenchResult(config.dataDir, aggregationResult({
      events,
      consumerPerformance: { recordsPerSecond: perf },
      aggregation: { eventsPerSecond: batched },
      naive: { events: naiveEvents, eventsPerSecond: naive },
      mysql: mysqlServer,
    }));
  } finally {
    await db.destroy();
    await dropDatabase(config.mysqlUrl, dbName);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [...Object.values(topics), dlqTopic(topics.main), dlqTopic(topics.naive)] }).catch(() => undefined);
    await admin.disconnect();
    await server.down();
  }
}

async function produce(kafka: Kafka, codec: AvroCodec, registry: RegistryClient, topic: string, n: number, prefix: string, when: Date): Promise<bigint> {
  const schemaId = await registry.latestId(valueSubject(topic));
  const producer = kafka.producer();
  await producer.connect();
  let sum = 0n;
  for (let start = 0; start < n; start += 10_000) {
    const batch = orderStream({ orders: Math.min(10_000, n - start), sellers: 10_000, occurredAt: () => when, prefix: `${prefix}${start}`, orderBase: 900000000000000000n + BigInt(start) })
      .filter((e) => e.event_type === 'ORDER_COMPLETED');
    for (const e of batch) sum += e.amount_minor;
    const messages = await Promise.all(batch.map(async (e) => ({ key: e.shop_user_id.toString(), value: await codec.encode(schemaId, e) })));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
  return sum;
}

async function measure(
  config: StsConfig,
  db: Knex,
  kafka: Kafka,
  codec: AvroCodec,
  registry: RegistryClient,
  logger: ReturnType<typeof createLogger>,
  ids: SnowflakeGenerator,
  topic: string,
  commissionTopic: string,
  group: string,
  n: number,
  expectedSum: bigint,
  overrides: ProcessorOverrides,
): Promise<number> {
  const started = process.hrtime.bigint();
  const metricsRegistry = new Registry();
  const handle = await runProcessor(
    { ...settlementAggregation(ids, topic, commissionTopic), group },
    { config, db, kafka, codec, outbox: new OutboxWriter(codec, registry), logger, metricsRegistry },
    overrides,
  );
  // Progress from the processor's own counter (records whose transaction and offsets committed),
  // not a COUNT(*) of billing_item: at a million rows that count scans an index four times a
  // second and takes the CPU the processor is being measured on. The exactness check below still
  // reads the table, once, after the clock stops.
  const records = processorMetrics(metricsRegistry).records;
  let count = 0;
  while (count < n) {
    await new Promise((r) => setTimeout(r, 50));
    count = (await records.get()).values.reduce((sum, v) => sum + v.value, 0);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await handle.stop();
  const [check] = (await db.raw("SELECT COUNT(*) AS n, COUNT(DISTINCT source_ref) AS d, CAST(SUM(amount_minor) AS CHAR) AS s FROM billing_item WHERE source = 'ORDER'"))[0] as Array<{ n: number; d: number; s: string }>;
  const [requests] = (await db('outbox').count({ c: '*' })) as Array<{ c: string | number }>;
  if (Number(check!.n) !== n || Number(check!.d) !== n || check!.s !== expectedSum.toString() || Number(requests?.c) !== n) {
    throw new Error(`effects are not exact: ${check!.n} items, ${check!.d} distinct, sum ${check!.s} (expected ${n}, ${expectedSum}), ${requests?.c} commission requests`);
  }
  return Math.round(n / seconds);
}


export interface AggregationRecord {
  events: number;
  consumerPerformance: { recordsPerSecond: number };
  aggregation: { eventsPerSecond: number };
  naive: { events: number; eventsPerSecond: number };
  mysql: ServerDescription;
}

export function aggregationResult(r: AggregationRecord): BenchResultBody {
  const measure = 'events/s, exactly-once effects';
  return {
    name: 'settlement-aggregation',
    size: `${fmt(r.events)} events (naive baseline: ${fmt(r.naive.events)})`,
    sizeNote: sizeNote(r.events, 1_000_000, 'events'),
    figures: {
      eventsPerSecond: figure(r.aggregation.eventsPerSecond, 'events/s'),
      consumerPerformancePerSecond: figure(r.consumerPerformance.recordsPerSecond, 'records/s'),
      naiveEventsPerSecond: figure(r.naive.eventsPerSecond, 'events/s'),
    },
    comparisons: [
      {
        measure,
        figure: 'eventsPerSecond',
        reference: 'Kafka ConsumerPerformance, same topic (consume only)',
        referenceFigure: 'consumerPerformancePerSecond',
      },
      { measure, figure: 'eventsPerSecond', reference: 'naive: one event per transaction', referenceFigure: 'naiveEventsPerSecond' },
    ],
    targets: [{ text: '≥ 25,000 events/s', source: 'issue 5', figure: 'eventsPerSecond', op: '>=', threshold: 25_000 }],
    notes: [serverNote(r.mysql)],
    data: r,
  };
}

if (require.main === module) runBench(main);
