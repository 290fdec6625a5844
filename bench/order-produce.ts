/**
 * Producing order events beside Kafka's ProducerPerformance:
 * `npx tsx bench/order-produce.ts [orders] [sellers]` (defaults 715,000 orders, about 1.0M events,
 * and 1,000 sellers, the CLI's default).
 *
 * Inputs: the local stack (STS_* variables). It creates two scratch topics with 12 partitions and
 *   the pipeline topic config (like sts.order-events.v1), registers order-event.avsc for the first,
 *   and deletes both at the end.
 * Runs, one after the other:
 *   1. the pipeline's producer as shipped: `sts orders produce --count N --region SG --topic T
 *      --json` in its own process (Avro through the registry, keyed by seller, idempotent, one
 *      request in flight); the figure is the command's own timing (registry lookup, connect,
 *      encode, send), so event generation and process start-up are not in it;
 *   2. the reference: org.apache.kafka.tools.ProducerPerformance on the second topic with the same
 *      record count and the mean Avro value size (registry header included) of those events,
 *      acks=all, Java client defaults otherwise. It sends no key; the pipeline's keys are the
 *      18-digit seller ids.
 * Output: events/s of both, as its result (bench-result.ts) on stdout and in
 *   STS_DATA_DIR/bench/order-produce.json.
 * Failure: exits 1 if the command fails, or the topic holds another number of records than the
 *   command reports publishing (a lost or doubled send).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopicList, PIPELINE_TOPIC_CONFIG } from '../runtime/kafka/topic-admin';
import { AvroCodec } from '../runtime/registry/avro-codec';
import { RegistryClient } from '../runtime/registry/registry-client';
import { valueSubject } from '../runtime/topology/types';
import { orderStream } from '../tools/orders/synthetic-orders';
import { producerPerformance, type ProducerPerfResult } from './kafka-perf-tools';
import { runBench } from './bench-main';
import { exactnessNote, figure, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';

const exec = promisify(execFile);
const PARTITIONS = 12;
const REGION = 'SG';
const SEED = 42;
/** Values encoded to find the mean record size; spread over the whole stream. */
const SIZE_SAMPLE = 20_000;

async function main(): Promise<void> {
  const orders = Number(process.argv[2] ?? 715_000);
  const sellers = Number(process.argv[3] ?? 1_000);
  const config = loadConfig();
  const tag = Date.now().toString(36);
  const topic = `bench.order-produce.${tag}`;
  const refTopic = `bench.order-produce-ref.${tag}`;
  const kafka = createKafka(config, 'bench-order-produce');
  const registry = new RegistryClient(config.schemaRegistryUrl);
  try {
    await ensureTopicList(kafka, [
      { topic, numPartitions: PARTITIONS, configEntries: PIPELINE_TOPIC_CONFIG },
      { topic: refTopic, numPartitions: PARTITIONS, configEntries: PIPELINE_TOPIC_CONFIG },
    ]);
    const schemaId = await registry.register(
      valueSubject(topic),
      fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8'),
    );

    process.stdout.write(`sts orders produce --count ${orders} --sellers ${sellers}…\n`);
    const args = ['orders', 'produce', '--count', String(orders), '--sellers', String(sellers)];
    args.push('--region', REGION, '--seed', String(SEED), '--topic', topic, '--json');
    const wallStart = process.hrtime.bigint();
    const { stdout } = await exec(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'sts.js'), ...args],
      {
        cwd: PROJECT_ROOT,
        maxBuffer: 1 << 20,
      },
    );
    const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
    const cli = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      events: number;
      seconds: number;
    };
    const eventsPerSecond = Math.round(cli.events / cli.seconds);
    process.stdout.write(
      `pipeline: ${cli.events} events in ${cli.seconds.toFixed(1)} s, ${eventsPerSecond} events/s\n`,
    );

    const onTopic = await recordsOn(kafka, topic);
    const { mean: recordSize, sampled } = await meanValueBytes(
      new AvroCodec(registry),
      schemaId,
      orders,
      sellers,
    );

    const perf = await producerPerformance(
      config.dataDir,
      config.kafkaBrokers[0]!,
      refTopic,
      cli.events,
      recordSize,
    );
    process.stdout.write(
      `ProducerPerformance: ${perf.recordsPerSecond} records/s of ${recordSize} bytes\n`,
    );

    const exact = onTopic === cli.events;
    writeBenchResult(config.dataDir, produceResult({
      orders,
      events: cli.events,
      sellers,
      partitions: PARTITIONS,
      recordBytes: { meanValue: recordSize, key: 18, sampled },
      pipeline: {
        command: `sts orders produce ${args.slice(2).join(' ')}`,
        eventsPerSecond,
        seconds: round(cli.seconds),
        wallSeconds: round(wallSeconds),
        recordsOnTopic: onTopic,
      },
      producerPerformance: { ...perf, recordSize },
      exact,
    }));
    if (!exact) throw new Error(`${onTopic} records on ${topic} for ${cli.events} events published`);
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, refTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Sum of the partitions' end offsets: every record the producer appended (no transactions here). */
async function recordsOn(kafka: ReturnType<typeof createKafka>, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The mean encoded value of the same stream the command published (same seed and prefix, so the
 * same ids and amounts; the timestamp is a varint of the same length). Sampled evenly: event ids
 * grow a digit every power of ten, so the first N alone would understate the size.
 */
async function meanValueBytes(
  codec: AvroCodec,
  schemaId: number,
  orders: number,
  sellers: number,
): Promise<{ mean: number; sampled: number }> {
  const now = new Date();
  const events = orderStream({
    orders,
    sellers,
    region: REGION,
    seed: SEED,
    prefix: `synthetic-${REGION}-${SEED}`,
    occurredAt: () => now,
  });
  const stride = Math.max(1, Math.floor(events.length / SIZE_SAMPLE));
  let bytes = 0;
  let n = 0;
  for (let i = 0; i < events.length; i += stride) {
    bytes += (await codec.encode(schemaId, events[i]!)).length;
    n++;
  }
  return { mean: Math.round(bytes / n), sampled: n };
}

const round = (x: number) => Math.round(x * 100) / 100;

export interface ProduceRecord {
  orders: number;
  events: number;
  sellers: number;
  partitions: number;
  recordBytes: { meanValue: number; key: number; sampled: number };
  pipeline: { command: string; eventsPerSecond: number; seconds: number; wallSeconds: number; recordsOnTopic: number };
  producerPerformance: ProducerPerfResult & { recordSize: number };
  exact: boolean;
}

export function produceResult(r: ProduceRecord): BenchResultBody {
  return {
    name: 'order-produce',
    size: `${fmt(r.events)} events from ${fmt(r.orders)} orders, ${fmt(r.recordBytes.meanValue)} bytes each on average, ${fmt(r.partitions)} partitions`,
    figures: {
      eventsPerSecond: figure(r.pipeline.eventsPerSecond, 'events/s'),
      // The close's relay rate stands beside this one too.
      producerPerformancePerSecond: figure(r.producerPerformance.recordsPerSecond, 'records/s'),
    },
    comparisons: [
      {
        measure: 'events/s, `sts orders produce`',
        figure: 'eventsPerSecond',
        reference: 'Kafka ProducerPerformance, same count and size',
        referenceFigure: 'producerPerformancePerSecond',
      },
    ],
    targets: [],
    notes: [
      `The command took ${fmt(r.pipeline.seconds, 1)} s; ProducerPerformance moved ${fmt(r.producerPerformance.megabytesPerSecond, 2)} MB/s.`,
      ...exactnessNote(r.exact),
    ],
    data: r,
  };
}

if (require.main === module) runBench(main);
