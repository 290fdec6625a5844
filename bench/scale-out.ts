/**
 * Scaling out, measured side by side in one run:
 * `npx tsx bench/scale-out.ts [events] [uploadRows]` (defaults 200,000 and 200,000).
 *
 * Inputs: the local stack (STS_* variables). Scratch databases and topics (12 partitions), dropped
 *   at the end; a private three-node Kafka cluster on free ports under STS_DATA_DIR/bench/, stopped
 *   and removed at the end.
 * Runs:
 *   1. settlement-aggregation with one, then two instances in its group, each instance the
 *      catalog processor in its own process: the instances join first, then the events are
 *      produced, and the clock runs from the first event produced to the last offset committed;
 *   2. upload-ingestion the same way, from the first byte of the upload read to COMPLETED;
 *   3. on the three-node cluster, a producer writing with acks=all while the node leading the most
 *      partitions is killed with kill -9: how long until every partition has a leader again, the
 *      longest the producer waited for an acknowledgement, and, once the node is restarted, how
 *      long until every partition is back in sync.
 * Output: its result (bench-result.ts) on stdout and in STS_DATA_DIR/bench/scale-out.json.
 * Failure: exits 1 if an event, a row or an acknowledged record is lost or applied twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { loadConfig, PROJECT_ROOT, withDatabase, type StsConfig } from '../runtime/config';
import { createDb, type Knex } from '../runtime/db/knex';
import { migrateLatest } from '../runtime/db/migrate';
import { SnowflakeGenerator } from '../runtime/ids/snowflake';
import { WorkerLease } from '../runtime/ids/worker-lease';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopicList, whenKnown } from '../runtime/kafka/topic-admin';
import { createLogger } from '../runtime/logger';
import { AvroCodec } from '../runtime/registry/avro-codec';
import { RegistryClient } from '../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../runtime/topology/types';
import { dropDatabase, ensureDatabase } from '../infra/mysql-server';
import { kafkaDown, kafkaUp } from '../infra/kafka-broker';
import { kafkaNodePaths } from '../infra/paths';
import { freePortRun } from '../infra/ports';
import { livePid } from '../infra/process-control';
import { intakeUpload } from '../services/uploads/upload-intake';
import { readUploadStatus } from '../services/uploads/upload-status';
import { processorNodeOptions } from '../services/run/processor-heap';
import { orderStream } from '../tools/orders/synthetic-orders';
import { writeUploadCsv } from '../test/fixtures/upload-files';
import { runBench } from './bench-main';
import { exactnessNote, figure, ratioOf, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';

const PARTITIONS = 12;
const CATALOG_PROCESS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'catalog-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ScaleRecord {
  events: number;
  uploadRows: number;
  aggregation: { oneInstance: number; twoInstances: number; produceOnlySeconds: number };
  upload: { oneInstance: number; twoInstances: number };
  brokerKill: { victimLed: number; leadersBackSeconds: number; longestAckWaitSeconds: number; inSyncAfterRestartSeconds: number; acknowledged: number; unsure: number; onTopic: number };
  exact: boolean;
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 200_000);
  const uploadRows = Number(process.argv[3] ?? 200_000);
  const config = loadConfig();
  const tag = Date.now().toString(36);
  const kafka = createKafka(config, 'bench-scale-out');
  const registry = new RegistryClient(config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const scratch: { dbs: string[]; topics: string[] } = { dbs: [], topics: [] };
  let exact = true;
  try {
    const aggregation: number[] = [];
    let produceOnlySeconds = 0;
    for (const instances of [1, 2]) {
      const r = await aggregationRound(config, kafka, codec, registry, scratch, `${tag}a${instances}`, instances, events);
      aggregation.push(r.eventsPerSecond);
      produceOnlySeconds = r.produceSeconds;
      exact &&= r.exact;
      process.stdout.write(`aggregation, ${instances} instance(s): ${fmt(r.eventsPerSecond)} events/s${r.exact ? '' : ' (NOT EXACT)'}\n`);
    }
    const upload: number[] = [];
    for (const instances of [1, 2]) {
      const r = await uploadRound(config, kafka, registry, scratch, `${tag}u${instances}`, instances, uploadRows);
      upload.push(r.rowsPerSecond);
      exact &&= r.exact;
      process.stdout.write(`upload, ${instances} instance(s): ${fmt(r.rowsPerSecond)} rows/s${r.exact ? '' : ' (NOT EXACT)'}\n`);
    }
    const brokerKill = await brokerKillRound(config);
    // Nothing acknowledged lost; anything beyond it came from failed sends only.
    exact &&= brokerKill.onTopic >= brokerKill.acknowledged && brokerKill.onTopic <= brokerKill.acknowledged + brokerKill.unsure;
    process.stdout.write(`broker kill: ${JSON.stringify(brokerKill)}\n`);
    writeBenchResult(config.dataDir, scaleOutResult({
      events,
      uploadRows,
      aggregation: { oneInstance: aggregation[0]!, twoInstances: aggregation[1]!, produceOnlySeconds },
      upload: { oneInstance: upload[0]!, twoInstances: upload[1]! },
      brokerKill,
      exact,
    }));
    if (!exact) throw new Error('an event, a row or an acknowledged record was lost or applied twice (see above)');
  } finally {
    for (const db of scratch.dbs) await dropDatabase(config.mysqlUrl, db).catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: scratch.topics }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** `n` instances of a catalog processor, each its own process, joined to `group` on `topic`. */
async function startInstances(url: string, processor: string, topic: string, group: string, n: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['-r', 'tsx/cjs', CATALOG_PROCESS], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_OPTIONS: processorNodeOptions(process.env.NODE_OPTIONS), STS_MYSQL_URL: url, FIXTURE_PROCESSOR: processor, FIXTURE_TOPIC: topic, FIXTURE_GROUP: group, STS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    children.map((child) => new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`${processor} instance exited ${code}`)));
    })),
  );
  return children;
}

/** Waits until the group is Stable with `n` members, each owning a share of the partitions. */
async function stableGroup(kafka: Kafka, group: string, n: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      const [g] = (await admin.describeGroups([group])).groups;
      if (g?.state === 'Stable' && g.members.length === n) return;
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

async function stopInstances(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.removeAllListeners('exit');
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  })));
}

async function scratchDb(config: StsConfig, scratch: { dbs: string[] }, name: string): Promise<{ db: Knex; url: string }> {
  await ensureDatabase(config.mysqlUrl, name);
  scratch.dbs.push(name);
  const url = withDatabase(config.mysqlUrl, name);
  const db = createDb(url, { pool: 4 });
  await migrateLatest(db);
  return { db, url };
}

async function aggregationRound(config: StsConfig, kafka: Kafka, codec: AvroCodec, registry: RegistryClient, scratch: { dbs: string[]; topics: string[] }, tag: string, instances: number, events: number) {
  const { db, url } = await scratchDb(config, scratch, `sts_bench_scale_${tag}`);
  const topic = `bench.scale.orders.${tag}`;
  scratch.topics.push(topic, dlqTopic(topic));
  await ensureTopicList(kafka, [{ topic, numPartitions: PARTITIONS }, { topic: dlqTopic(topic), numPartitions: 1 }]);
  const schemaId = await registry.register(valueSubject(topic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8'));
  // Encoded before the clock starts: the figure is the pipeline's, not the generator's.
  // Completed orders only, occurring now: each event is one item, one balance move, one commission request.
  const stream = orderStream({ orders: events * 2, sellers: 10_000, region: 'SG', seed: 7, prefix: `s${tag}`, occurredAt: () => new Date() })
    .filter((e) => e.event_type === 'ORDER_COMPLETED')
    .slice(0, events);
  if (stream.length < events) throw new Error(`the generator gave ${stream.length} completed orders for ${events}`);
  const messages = await Promise.all(stream.map(async (e) => ({ key: e.shop_user_id.toString(), value: await codec.encode(schemaId, e) })));
  const sum = stream.reduce((s, e) => s + e.amount_minor, 0n);
  const group = `bench.scale.agg.${tag}`;
  const children = await startInstances(url, 'settlement-aggregation', topic, group, instances);
  try {
    await stableGroup(kafka, group, instances);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const started = process.hrtime.bigint();
    for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic, messages: messages.slice(i, i + 5000) });
    const produceSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await producer.disconnect();
    await untilCommittedToEnd(kafka, group, topic);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [row] = (await db('billing_item').count({ n: '*' }).select(db.raw('CAST(COALESCE(SUM(amount_minor), 0) AS CHAR) AS s'))) as Array<{ n: number; s: string }>;
    return { eventsPerSecond: Math.round(events / seconds), produceSeconds: Math.round(produceSeconds * 10) / 10, exact: Number(row!.n) === events && BigInt(row!.s) === sum };
  } finally {
    await stopInstances(children);
    await db.destroy();
  }
}

async function uploadRound(config: StsConfig, kafka: Kafka, registry: RegistryClient, scratch: { dbs: string[]; topics: string[] }, tag: string, instances: number, rows: number) {
  const { db, url } = await scratchDb(config, scratch, `sts_bench_scale_${tag}`);
  const topic = `bench.scale.uploads.${tag}`;
  scratch.topics.push(topic, dlqTopic(topic));
  await ensureTopicList(kafka, [{ topic, numPartitions: PARTITIONS }, { topic: dlqTopic(topic), numPartitions: 1 }]);
  await registry.register(valueSubject(topic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
  const file = path.join(os.tmpdir(), `sts-bench-scale-${tag}.csv`);
  const expected = await writeUploadCsv(file, { rows, sellers: 10_000, refPrefix: `s${tag}` });
  const group = `bench.scale.upload.${tag}`;
  const children = await startInstances(url, 'upload-ingestion', topic, group, instances);
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'bench-scale-out' });
  try {
    await stableGroup(kafka, group, instances);
    const started = process.hrtime.bigint();
    const codec = new AvroCodec(registry);
    const intake = await intakeUpload({ db, kafka, codec, registry, ids: new SnowflakeGenerator(lease), dataDir: config.dataDir, logger: createLogger('bench-scale-out', 'warn') }, fs.createReadStream(file), { fileName: 'scale.csv', actor: 'bench' }, { topic });
    let status = await readUploadStatus(db, intake.uploadId);
    while (status.status !== 'COMPLETED') {
      if (status.status === 'FAILED' || status.status === 'CANCELLED') throw new Error(`upload ${intake.uploadId} ended ${status.status}`);
      await sleep(100);
      status = await readUploadStatus(db, intake.uploadId);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [row] = (await db('billing_item').where({ source: 'UPLOAD' }).count({ n: '*' })) as Array<{ n: number }>;
    return { rowsPerSecond: Math.round(rows / seconds), exact: Number(row!.n) === expected.accepted };
  } finally {
    await lease.release();
    await stopInstances(children);
    await db.destroy();
    fs.rmSync(file, { force: true });
  }
}

async function untilCommittedToEnd(kafka: Kafka, group: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      if (committed!.partitions.every((p) => BigInt(p.offset) >= (ends.get(p.partition) ?? 0n))) return;
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * A private three-node cluster, a producer writing with acks=all, and kill -9 of the node leading
 * the most partitions. Times are from the kill.
 */
export async function brokerKillRound(base: StsConfig): Promise<ScaleRecord['brokerKill']> {
  fs.mkdirSync(path.join(base.dataDir, 'bench'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(base.dataDir, 'bench', 'cluster-'));
  const port = await freePortRun(6);
  const env = { ...process.env, STS_DATA_DIR: dir, STS_KAFKA_BROKERS: `127.0.0.1:${port}`, STS_KAFKA_NODES: '3', STS_KAFKA_CONTROLLER_PORT: String(port + 1) };
  // The broker's start reads these two from the environment when it starts the JVMs.
  const saved = { heap: process.env.STS_KAFKA_HEAP, controller: process.env.STS_KAFKA_CONTROLLER_PORT };
  process.env.STS_KAFKA_HEAP = '512m';
  process.env.STS_KAFKA_CONTROLLER_PORT = String(port + 1);
  // The jars are the shared stack's, not fetched again.
  fs.mkdirSync(path.join(dir, 'kafka'), { recursive: true });
  fs.symlinkSync(kafkaNodePaths(base.dataDir, 1).libs, kafkaNodePaths(dir, 1).libs);
  const config = loadConfig(env);
  const say = (line: string) => process.stdout.write(`  ${line}\n`);
  try {
    await kafkaUp(config, say);
    const kafka = createKafka(config, 'bench-broker-kill');
    const topic = 'bench.kill';
    // Three copies and min.insync.replicas 2, as every pipeline topic on three nodes.
    await ensureTopicList(kafka, [{ topic, numPartitions: PARTITIONS }]);
    const admin = kafka.admin();
    await admin.connect();
    const created = await whenKnown(() => admin.fetchTopicMetadata({ topics: [topic] }));
    if (!created.topics[0]!.partitions.every((p) => p.replicas.length === 3)) throw new Error(`${topic} was created with fewer than three copies`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let acknowledged = 0;
    // Records of sends that failed (retries used up while the leaders moved): the writer would
    // send them again; some may be on the topic, none is counted as acknowledged.
    let unsure = 0;
    let running = true;
    let lastAck = Date.now();
    let longestWait = 0;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        const sentAt = Date.now();
        try {
          await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, k) => ({ key: String(i * 50 + k), value: 'x'.repeat(100) })) });
          acknowledged += 50;
          longestWait = Math.max(longestWait, Date.now() - Math.max(sentAt, lastAck));
          lastAck = Date.now();
        } catch {
          unsure += 50;
        }
        await sleep(10);
      }
    })();
    await sleep(3000);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const led = new Map<number, number>();
    for (const p of meta.topics[0]!.partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
    const [victim, victimLed] = [...led].sort((a, b) => b[1] - a[1])[0]!;
    const waitBefore = longestWait;
    longestWait = 0;
    process.kill(livePid(kafkaNodePaths(dir, victim).pid)!, 'SIGKILL');
    const killedAt = Date.now();
    let leadersBack = 0;
    while (!leadersBack) {
      const m = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      if (m && m.topics[0]!.partitions.every((p) => p.leader >= 0 && p.leader !== victim)) leadersBack = Date.now() - killedAt;
      else await sleep(100);
    }
    say(`every partition led again ${(leadersBack / 1000).toFixed(1)} s after the kill; restarting node ${victim}`);
    await sleep(2000);
    const restartAt = Date.now();
    await kafkaUp(config, say);
    let inSync = 0;
    for (let polls = 0; !inSync; polls++) {
      const m = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      if (m && m.topics[0]!.partitions.every((p) => p.isr.length === 3)) inSync = Date.now() - restartAt;
      else await sleep(100);
      if (polls % 100 === 99) say(`waiting for node ${victim} to be back in every ISR: ${JSON.stringify(m?.topics[0]?.partitions.map((p) => p.isr))}`);
    }
    say(`back in every ISR ${(inSync / 1000).toFixed(1)} s after the restart; ${acknowledged} acknowledged, ${unsure} in failed sends`);
    running = false;
    await writer;
    await producer.disconnect();
    const onTopic = (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    await admin.disconnect();
    say(`longest wait for an acknowledgement before the kill: ${waitBefore} ms`);
    return { victimLed, leadersBackSeconds: leadersBack / 1000, longestAckWaitSeconds: longestWait / 1000, inSyncAfterRestartSeconds: inSync / 1000, acknowledged, unsure, onTopic };
  } finally {
    await kafkaDown(config).catch(() => undefined);
    for (const [name, value] of [['STS_KAFKA_HEAP', saved.heap], ['STS_KAFKA_CONTROLLER_PORT', saved.controller]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function scaleOutResult(r: ScaleRecord): BenchResultBody {
  const aggRatio = ratioOf(r.aggregation.twoInstances, r.aggregation.oneInstance);
  const uploadRatio = ratioOf(r.upload.twoInstances, r.upload.oneInstance);
  return {
    name: 'scale-out',
    size: `${fmt(r.events)} order events, ${fmt(r.uploadRows)} upload rows, 12 partitions; a 3-node cluster for the broker kill`,
    figures: {
      aggregationTwo: figure(r.aggregation.twoInstances, 'events/s'),
      aggregationOne: figure(r.aggregation.oneInstance, 'events/s'),
      uploadTwo: figure(r.upload.twoInstances, 'rows/s'),
      uploadOne: figure(r.upload.oneInstance, 'rows/s'),
      leadersBack: figure(r.brokerKill.leadersBackSeconds, 's', 1),
      longestAckWait: figure(r.brokerKill.longestAckWaitSeconds, 's', 1),
      inSyncAfterRestart: figure(r.brokerKill.inSyncAfterRestartSeconds, 's', 1),
    },
    comparisons: [
      { measure: 'events/s, settlement-aggregation with two instances', figure: 'aggregationTwo', reference: 'the same with one instance', referenceFigure: 'aggregationOne' },
      { measure: 'rows/s, upload-ingestion with two instances', figure: 'uploadTwo', reference: 'the same with one instance', referenceFigure: 'uploadOne' },
    ],
    targets: [],
    notes: [
      `Two instances against one: aggregation ${aggRatio?.toFixed(2) ?? '?'}×, upload ${uploadRatio?.toFixed(2) ?? '?'}×. Each instance is its own process; on a two-core machine that also holds MariaDB and the broker, a second instance competes for the same cores, so the ratio says what a second instance costs or gains here, not on a host of its own.`,
      `Broker kill (kill -9 of the node leading ${r.brokerKill.victimLed} of 12 partitions, acks=all writes running): every partition had a leader again after ${r.brokerKill.leadersBackSeconds.toFixed(1)} s, the producer's longest wait for an acknowledgement was ${r.brokerKill.longestAckWaitSeconds.toFixed(1)} s, and once restarted the node was back in every ISR after ${r.brokerKill.inSyncAfterRestartSeconds.toFixed(1)} s. ${fmt(r.brokerKill.acknowledged)} records acknowledged, ${fmt(r.brokerKill.unsure)} in sends that failed (to be sent again), ${fmt(r.brokerKill.onTopic)} on the topic.`,
      `The producing alone took ${r.aggregation.produceOnlySeconds.toFixed(1)} s of the aggregation window.`,
      ...exactnessNote(r.exact),
    ],
    data: r,
  };
}

if (require.main === module) runBench(main);
