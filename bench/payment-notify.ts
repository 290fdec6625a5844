/**
 * payment-notify throughput and breaker reaction: `npx tsx bench/payment-notify.ts [payouts]`.
 *
 * Inputs: the local stack (STS_* variables) for Kafka, the registry, MariaDB and Redis; a scratch
 *   database, topic and Redis namespace it creates and removes, and its own gateway simulator
 *   process (free port, scratch journal) at 20 ms latency. Default: 100,000 payouts over 20,000
 *   sellers, 12 partitions, payment-notify with its shipped defaults (4 partitions at a time,
 *   32 calls in flight per partition).
 * Output, as its result (bench-result.ts) on stdout and in STS_DATA_DIR/bench/payment-notify.json:
 *   - payouts/s from the first payout to the last one final (PAID, result in the outbox), beside
 *     the reference: bare gateway calls/s at the same concurrency, the simulator's ceiling here;
 *   - the time from the start of a gateway outage to the breaker opening (and consumption
 *     pausing), measured under load with 20,000 more payouts;
 *   - the bank-file rail with as many payouts, from release to PAID (bank-rail-run.ts), beside the
 *     gateway rail's payouts/s.
 * Failure: exits 1 if a payout is not final, a key executed twice, or the ledger is unbalanced.
 * Targets (issue 6): >= 2,000 payouts/s; breaker open <= 1 s after the outage starts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { loadConfig, PROJECT_ROOT, withDatabase } from '../runtime/config';
import { createDb, type Knex } from '../runtime/db/knex';
import { migrateLatest } from '../runtime/db/migrate';
import { GatewayClient } from '../runtime/gateway/gateway-client';
import { SnowflakeGenerator } from '../runtime/ids/snowflake';
import { WorkerLease } from '../runtime/ids/worker-lease';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopicList } from '../runtime/kafka/topic-admin';
import { createLogger } from '../runtime/logger';
import { ledgerProblems } from '../runtime/payment-ledger/ledger-balances';
import { OutboxWriter } from '../runtime/outbox/outbox-writer';
import { runProcessor } from '../runtime/processor/processor';
import { AvroCodec } from '../runtime/registry/avro-codec';
import { RegistryClient } from '../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../runtime/topology/types';
import { dropDatabase, ensureDatabase } from '../infra/mysql-server';
import { PAYMENT_NOTIFY_DEFAULTS } from '../processors/payment-notify/payment-options';
import { paymentNotify } from '../processors/payment-notify/processor';
import { startSimulator } from './simulator-process';
import { measureBankRail, type BankRailRecord } from './bank-rail-run';
import { runBench } from './bench-main';
import { figure, sizeNote, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';

const config = loadConfig();
const kafka = createKafka(config, 'sts-bench-payment');
const registry = new RegistryClient(config.schemaRegistryUrl);
const codec = new AvroCodec(registry);
const run = crypto.randomBytes(3).toString('hex');
const ID_BASE = 652024209997893632n;
const SELLER_BASE = 652024209997000000n;
const schema = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', f), 'utf8');
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Payout rows as a cycle close writes them, and their events on the topic. */
async function seed(
  db: Knex,
  topic: string,
  schemaId: number,
  from: number,
  count: number,
): Promise<void> {
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  for (let at = from; at < from + count; at += 5000) {
    const batch = Array.from({ length: Math.min(5000, from + count - at) }, (_, k) => {
      const i = at + k;
      return {
        id: ID_BASE + BigInt(i),
        shop: SELLER_BASE + BigInt(i % 20_000),
        cycle: 20261116n + BigInt(Math.floor(i / 20_000)),
        amount: BigInt(1000 + (i % 99_991)),
      };
    });
    await db('payout').insert(
      batch.map((p) => ({
        id: p.id.toString(),
        cycle_id: p.cycle.toString(),
        region: 'SG',
        shop_user_id: p.shop.toString(),
        currency: 'SGD',
        amount_minor: p.amount.toString(),
        status: 'PENDING',
      })),
    );
    const messages = await Promise.all(
      batch.map(async (p) => ({
        key: p.shop.toString(),
        value: await codec.encode(schemaId, {
          event_id: `payout-created:${p.id}`,
          payout_id: p.id,
          cycle_id: p.cycle,
          region: 'SG',
          shop_user_id: p.shop,
          currency: 'SGD',
          amount_minor: p.amount,
          status: 'PENDING',
          created_at: new Date(),
        }),
      })),
    );
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
}

/** The ceiling beside the figure: bare gateway calls at the pipeline's concurrency, no pipeline. */
async function gatewayCeiling(gateway: GatewayClient, calls: number, concurrency: number) {
  let next = 0;
  const t0 = Date.now();
  const worker = async () => {
    for (let i = next++; i < calls; i = next++) {
      const payout = { payoutId: ID_BASE + 10_000_000n + BigInt(i), shopUserId: SELLER_BASE };
      const out = await gateway.submit(`ref-${i}`, {
        ...payout,
        currency: 'SGD',
        amountMinor: 1000n,
        account: 'REF',
      });
      if (out.kind !== 'executed') throw new Error(`reference call ${i}: ${out.kind}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return calls / ((Date.now() - t0) / 1000);
}

async function finalCount(db: Knex): Promise<number> {
  const [row] = (await db('payout')
    .whereIn('status', ['PAID', 'FAILED'])
    .count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

async function waitFinal(db: Knex, n: number, onFirst?: () => void): Promise<void> {
  for (;;) {
    const done = await finalCount(db);
    if (done > 0) onFirst?.();
    if (done >= n) return;
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const payouts = Number(process.argv[2] ?? 100_000);
  const breakerPayouts = 20_000;
  const referenceCalls = 20_000;
  const dbName = `sts_bench_pay_${run}`;
  const topic = `bench.payouts.${run}`;
  const resultsTopic = `bench.payout-results.${run}`;
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-bench-gw-'));
  const sim = await startSimulator(journalDir, ['--latency-ms', '20']);
  await ensureDatabase(config.mysqlUrl, dbName);
  const db = createDb(withDatabase(config.mysqlUrl, dbName), { pool: 10 });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const keyPrefix = `sts:pay:{${dbName}}:`;
  const sockets =
    PAYMENT_NOTIFY_DEFAULTS.maxInFlightPerPartition * 4 +
    PAYMENT_NOTIFY_DEFAULTS.compensatorConcurrency +
    1;
  const gateway = new GatewayClient({
    baseUrl: sim.url,
    maxSockets: sockets,
    maxFreeSockets: sockets,
  });
  try {
    await migrateLatest(db);
    await ensureTopicList(kafka, [
      { topic, numPartitions: 12 },
      { topic: dlqTopic(topic), numPartitions: 1 },
    ]);
    const schemaId = await registry.register(valueSubject(topic), schema('payout.avsc'));
    await registry.register(valueSubject(resultsTopic), schema('payout-result.avsc'));
    process.stdout.write(`seeding ${payouts} payouts...\n`);
    await seed(db, topic, schemaId, 0, payouts);

    const inFlight = PAYMENT_NOTIFY_DEFAULTS.maxInFlightPerPartition * 4;
    const ceiling = await gatewayCeiling(gateway, referenceCalls, inFlight);
    process.stdout.write(
      `reference: ${Math.round(ceiling)} bare gateway calls/s at concurrency ${inFlight}\n`,
    );

    const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'bench-payment' });
    const def = paymentNotify({
      redis,
      gateway,
      registry,
      keyPrefix,
      ids: new SnowflakeGenerator(lease),
      topic,
      options: { resultsTopic },
    });
    const logger = createLogger('bench-payment', 'warn');
    const started = Date.now();
    const handle = await runProcessor(
      { ...def, group: `bench.payment.${run}` },
      {
        config,
        db,
        kafka,
        codec,
        outbox: new OutboxWriter(codec, registry),
        logger,
        metricsRegistry: new Registry(),
      },
    );
    let first = 0;
    await waitFinal(db, payouts, () => (first ||= Date.now()));
    const end = Date.now();
    const perSecond = payouts / ((end - first) / 1000);
    process.stdout.write(
      `throughput: ${Math.round(perSecond)} payouts/s (${payouts} in ${((end - first) / 1000).toFixed(1)} s; ${((end - started) / 1000).toFixed(1)} s from start)\n`,
    );

    // Breaker: an outage while payouts flow; the time until the breaker opens (and pauses).
    await seed(db, topic, schemaId, payouts, breakerPayouts);
    await waitFinal(db, payouts + 3000);
    const opened = new Promise<number>((ok) => gateway.once('breakerOpen', () => ok(Date.now())));
    const outageStart = Date.now();
    await fetch(`${sim.url}/_sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outageForMs: 5000 }),
    });
    const openMs = (await opened) - outageStart;
    process.stdout.write(`breaker: open ${openMs} ms after the outage started\n`);
    await waitFinal(db, payouts + breakerPayouts);
    await handle.stop();

    // The bank-file rail with as many payouts, from release to PAID, beside the gateway rail.
    process.stdout.write(`bank rail: ${payouts} payouts through bank files...\n`);
    const bankRail = await measureBankRail(
      { db, ids: new SnowflakeGenerator(lease), outbox: new OutboxWriter(codec, registry), logger, resultsTopic },
      ID_BASE + 50_000_000n,
      SELLER_BASE + 100_000n,
      payouts,
    );
    process.stdout.write(`bank rail: ${bankRail.payoutsPerSecond} payouts/s in ${bankRail.files} files\n`);
    await lease.release();

    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as {
      executions: number;
      maxExecutionsPerKey: number;
      connections: number;
    };
    const problems = await ledgerProblems(db);
    if (
      stats.maxExecutionsPerKey !== 1 ||
      stats.executions !== payouts + breakerPayouts + referenceCalls ||
      problems.length > 0
    )
      throw new Error(`not exactly once: ${JSON.stringify(stats)} ${problems.join('; ')}`);
    writeBenchResult(config.dataDir, paymentResult({
      machine: { cpus: os.cpus().length, node: process.version },
      bankRail,
      gatewayLatencyMs: 20,
      throughput: { payouts, payoutsPerSecond: Math.round(perSecond), seconds: Number(((end - first) / 1000).toFixed(1)) },
      reference: { bareGatewayCallsPerSecond: Math.round(ceiling), calls: referenceCalls, concurrency: inFlight },
      breaker: { openAfterOutageMs: openMs, payoutsDuringRun: breakerPayouts },
      gateway: {
        executions: stats.executions,
        maxExecutionsPerKey: stats.maxExecutionsPerKey,
        connections: stats.connections,
      },
      options: {
        maxInFlightPerPartition: PAYMENT_NOTIFY_DEFAULTS.maxInFlightPerPartition,
        partitionsConsumedConcurrently: def.options?.partitionsConsumedConcurrently,
        maxRecordsPerTransaction: def.options?.maxRecordsPerTransaction,
      },
    }));
  } finally {
    // Each step on its own, the simulator first: a failed step must not leave the others behind.
    sim.stop();
    gateway.close();
    await deleteNamespace(redis, keyPrefix).catch(() => undefined);
    await redis.quit().catch(() => undefined);
    await db.destroy();
    await dropDatabase(config.mysqlUrl, dbName).catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, dlqTopic(topic)] }).catch(() => undefined);
    await admin.disconnect();
    fs.rmSync(journalDir, { recursive: true, force: true });
  }
}

/** The run's Redis keys (claims, queue), a page at a time: 120k keys do not fit one DEL. */
async function deleteNamespace(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      `${prefix.replace(/[{}]/g, '\\$&')}*`,
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Issue 6's targets, at its size. */
const TARGET = { payouts: 100_000, payoutsPerSecond: 2000, breakerOpenMs: 1000 };

export interface PaymentRecord {
  machine: { cpus: number; node: string };
  /** Absent in runs from before the bank rail. */
  bankRail?: BankRailRecord;
  gatewayLatencyMs: number;
  throughput: { payouts: number; payoutsPerSecond: number; seconds: number };
  reference: { bareGatewayCallsPerSecond: number; calls: number; concurrency: number };
  breaker: { openAfterOutageMs: number; payoutsDuringRun: number };
  gateway: { executions: number; maxExecutionsPerKey: number; connections: number };
  options: Record<string, number | undefined>;
}

export function paymentResult(r: PaymentRecord): BenchResultBody {
  return {
    name: 'payment-notify',
    size: `${fmt(r.throughput.payouts)} payouts at ${fmt(r.gatewayLatencyMs)} ms simulated gateway latency`,
    sizeNote: sizeNote(r.throughput.payouts, TARGET.payouts, 'payouts'),
    figures: {
      payoutsPerSecond: figure(r.throughput.payoutsPerSecond, 'payouts/s'),
      bareCallsPerSecond: figure(r.reference.bareGatewayCallsPerSecond, 'calls/s'),
      breakerOpenMs: figure(r.breaker.openAfterOutageMs, 'ms'),
      bankPayoutsPerSecond: figure(r.bankRail?.payoutsPerSecond, 'payouts/s'),
    },
    comparisons: [
      {
        measure: 'payouts/s, end to end',
        figure: 'payoutsPerSecond',
        reference: `bare gateway calls, concurrency ${fmt(r.reference.concurrency)}`,
        referenceFigure: 'bareCallsPerSecond',
      },
      {
        measure: 'payouts/s, bank-file rail, release to PAID',
        figure: 'bankPayoutsPerSecond',
        reference: 'the gateway rail above, same run',
        referenceFigure: 'payoutsPerSecond',
      },
    ],
    targets: [
      {
        text: `≥ ${fmt(TARGET.payoutsPerSecond)} payouts/s`,
        source: 'issue 6',
        figure: 'payoutsPerSecond',
        op: '>=',
        threshold: TARGET.payoutsPerSecond,
      },
      {
        text: `breaker open ≤ ${fmt(TARGET.breakerOpenMs)} ms after an outage starts`,
        source: 'issue 6',
        figure: 'breakerOpenMs',
        op: '<=',
        threshold: TARGET.breakerOpenMs,
      },
    ],
    notes: r.bankRail
      ? [
          `Bank-file rail: ${fmt(r.bankRail.payouts)} payouts in ${fmt(r.bankRail.files)} pain.001 file${r.bankRail.files === 1 ? "" : "s"}, written, verified, submitted (TRY), transmitted, executed by the bank simulator (journal fsync'd) and closed by its pain.002 reports in ${fmt(r.bankRail.seconds, 1)} s.`,
        ]
      : [],
    data: r,
  };
}

if (require.main === module) runBench(main);
