import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PROJECT_ROOT, type StsConfig } from '../../runtime/config';
import type { Knex } from '../../runtime/db/knex';
import { ChaosRunError } from './chaos-errors';
import { cycleBounds, cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { sleep } from '../../infra/process-control';
import { addRule } from '../../processors/commission/rule-store';
import { ORDER_EVENTS, type OrderEvent } from '../../contracts/order-event';
import { settlementTopology } from '../../topologies/settlement';
import { writeDemoUpload } from '../demo/demo-upload';
import { LagSampler, topologyTargets } from '../../services/lag/lag-sampler';
import { publishOrderEvents } from '../orders/order-publisher';
import { orderStream, SELLER_BASE } from '../orders/synthetic-orders';
import { regionInfo } from '../../runtime/money/regions';
import { registerStreamPayees } from '../demo/synthetic-payees';
import { ReconRunner } from '../../services/recon/recon-runner';
import { createAppContext, type AppContext } from '../../services/run/app-context';
import { intakeUpload } from '../../services/uploads/upload-intake';
import { runChaosChecks, type ChaosExpectations, type CheckResult } from './chaos-checks';
import { ChaosMonkey } from './chaos-monkey';
import { chaosStack, type ChaosStack } from './chaos-stack';
import { dbClusterCheck } from './db-cluster-checks';
import { DbClusterFaults } from './db-cluster-faults';
import { expectedSettlement } from './expected-settlement';
import { ProcessSupervisor, type SupervisedStats } from './process-supervisor';
import { waitUntil } from './wait-until';

/**
 * `sts chaos`: a demo-sized flow on a private stack while things break, then proof that no cent
 * was lost or doubled.
 *
 * The flow: order events for two regions (2% of them sent twice) and a billing upload with bad
 * rows, aggregated, commissioned, closed and paid by the real processors, each its own `sts run`
 * process under a supervisor. The faults, all while work is in flight:
 *   - kill -9 of a random processor every few seconds, from start to the last payout;
 *   - the Kafka broker killed and restarted halfway through publishing the order events;
 *   - MariaDB killed and restarted while the upload is being ingested;
 *   - the first close killed mid-way and run again, as an operator would;
 *   - a gateway outage as the first payouts go out, and Redis flushed while it lasts.
 * Then it waits until everything is quiet (every payout final, the outbox empty, no consumer lag)
 * and runs the checks in chaos-checks.ts.
 *
 * With `cluster` (`sts chaos --cluster`) the broker is a three-node KRaft cluster (replication 3,
 * min.insync.replicas 2) and every process runs twice, as two members of its group; on top of the
 * faults above:
 *   - kill -9 of the node leading the most partitions while the order events are published, the
 *     second half going to a two-node cluster, then its restart;
 *   - kill -9 of the active controller while the upload is ingested, then its restart;
 *   - a rolling restart of all three nodes, one at a time (each back in sync before the next),
 *     while the closes and payments run;
 *   - a processor instance frozen with SIGSTOP past the session timeout and thawed with SIGCONT,
 *     once while events are aggregated and once while payouts are paid.
 *
 * With `dbCluster` (`sts chaos --db-cluster`, with or without `cluster`) the database is a
 * three-node Galera cluster behind HAProxy, every process connecting through HAProxy, and the
 * MariaDB kill becomes the cluster's faults (db-cluster-faults.ts): kill -9 of the node HAProxy
 * routes to while the upload is ingested, its restart and rejoin as the closes start (the writes
 * fail back to it), then kill -9 and restart of a standby node once the first payouts go out. One
 * more check: every node back, Synced, with the same money tables (db-cluster-checks.ts).
 *
 * Failure codes: STS_CHAOS_RUN when the scenario itself cannot proceed (a component that does not
 * come back, a flow that never goes quiet). Check failures are not thrown: they are the report.
 */
export interface ChaosOptions {
  regions: string[];
  /** Completed orders per region; refunds and adjustments come on top. */
  orders: number;
  sellers: number;
  uploadRows: number;
  seed: number;
  /** Pause between two kills is drawn from [min, max]. */
  killPauseMs: [number, number];
  outageMs: number;
  /** Leave the private stack running after the run, to inspect it. */
  keep: boolean;
  /** Give up when the flow has not gone quiet after this long. */
  timeoutMs: number;
  /** A three-node Kafka cluster, two instances of every process, and the cluster's faults. */
  cluster: boolean;
  /** A three-node Galera cluster behind HAProxy for the database, and its node kills. */
  dbCluster: boolean;
}

export const CHAOS_DEMO_SIZE: ChaosOptions = { regions: ['SG', 'MY'], orders: 87_000, sellers: 5_000, uploadRows: 100_000, seed: 1, killPauseMs: [3000, 6000], outageMs: 15_000, keep: false, timeoutMs: 1_800_000, cluster: false, dbCluster: false };
export const CHAOS_SMALL_SIZE: ChaosOptions = { ...CHAOS_DEMO_SIZE, orders: 3_000, sellers: 300, uploadRows: 5_000, killPauseMs: [2500, 5000], outageMs: 8_000, timeoutMs: 900_000 };

export interface ChaosReport {
  ok: boolean;
  dir: string;
  seed: number;
  events: number;
  uploadRows: number;
  payouts: number;
  faults: Array<{ atSeconds: number; what: string }>;
  processes: SupervisedStats[];
  checks: CheckResult[];
  seconds: Record<string, number>;
}

const RATE_BPS = 250n;
const ORDER_TOPIC = ORDER_EVENTS.topic;
/** How long a frozen instance stays stopped: past the run's 6 s session timeout, so it is evicted. */
const FREEZE_MS = 10_000;
/** How long a killed standby database node stays down: long enough for writes it has to catch up on. */
const DB_STANDBY_DOWN_MS = 5_000;

const PROCESSES = [
  { name: 'settlement-aggregation', args: ['run', 'settlement-aggregation'] },
  { name: 'upload-ingestion', args: ['run', 'upload-ingestion', '--no-relay'] },
  // A second relay: it stands by on the relay lock and takes over when the first one is killed.
  { name: 'commission', args: ['run', 'commission'] },
  { name: 'payment-notify', args: ['run', 'payment-notify', '--no-relay'] },
  // The bank-file rail (files out, the bank's reports in); killed like the rest, mid-report too.
  { name: 'bank-rail', args: ['bank', 'run'] },
];

/** On a cluster, two of each, named `<name>-1` and `<name>-2`: two members in every group. */
function processesFor(cluster: boolean) {
  return cluster ? PROCESSES.flatMap((p) => [1, 2].map((n) => ({ ...p, name: `${p.name}-${n}` }))) : PROCESSES;
}

/** The topics whose partitions the cluster's faults are aimed at. */
const PIPELINE_TOPICS = [...new Set(settlementTopology.processors.flatMap((p) => [p.input, ...p.outputs]))];

export async function runChaos(base: StsConfig, opts: ChaosOptions, say: (line: string) => void): Promise<ChaosReport> {
  const started = Date.now();
  const run = started.toString(36);
  const dir = path.join(base.dataDir, 'chaos', run);
  fs.mkdirSync(dir, { recursive: true });
  const faults: ChaosReport['faults'] = [];
  const note = (what: string) => {
    faults.push({ atSeconds: Math.round((Date.now() - started) / 100) / 10, what });
    say(`  ${what}`);
  };
  const seconds: Record<string, number> = {};
  let mark = Date.now();
  const lap = (name: string) => {
    seconds[name] = Math.round((Date.now() - mark) / 100) / 10;
    mark = Date.now();
  };
  const deadline = started + opts.timeoutMs;

  say(`chaos ${run}: private stack under ${dir}`);
  // The first region pays through bank files, the others through the gateway.
  const stack = await chaosStack(dir, base.schemaRegistryUrl, { STS_PAYOUT_RAILS: `${opts.regions[0]}=bank-file` }, { kafkaNodes: opts.cluster ? 3 : 1, mysqlNodes: opts.dbCluster ? 3 : 1 });
  const dbFaults = opts.dbCluster ? new DbClusterFaults(stack, deadline, note) : undefined;
  let ctx: AppContext | undefined;
  let supervisor: ProcessSupervisor | undefined;
  let monkey: ChaosMonkey | undefined;
  try {
    await stack.up();
    ctx = createAppContext(stack.config, 'sts-chaos', { logLevel: 'error' });
    const db = ctx.db;
    for (const region of opts.regions) await addRule(db, { region, category: '*', rateBps: Number(RATE_BPS), effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'chaos');
    // Every 40th seller banks with a closed account: the bank (AC04) and the gateway refuse it, and
    // the payout's amount must come back to the seller's balance exactly once.
    await registerStreamPayees(db, opts.regions.map((r) => regionInfo(r)!.currency), opts.sellers, 'cli:chaos', (seller) => ((seller - SELLER_BASE) % 40n === 11n ? `INVALID-${seller}` : undefined));
    lap('stack');

    supervisor = new ProcessSupervisor(stack.env, path.join(dir, 'logs'));
    supervisor.start(processesFor(opts.cluster));
    const sup = supervisor;
    const freeze = async (name: string) => {
      if (await sup.freeze(name, FREEZE_MS)) note(`SIGSTOP ${name} for ${FREEZE_MS / 1000} s, then SIGCONT`);
    };
    monkey = new ChaosMonkey(supervisor, { seed: opts.seed, minPauseMs: opts.killPauseMs[0], maxPauseMs: opts.killPauseMs[1] }, note);
    monkey.start();

    // Order events in each region's last ended cycle, so the close can pay them.
    const closing = new Map(opts.regions.map((r) => [r, cycleBounds(r, cycleIdFor(r, new Date(cycleBounds(r, cycleIdFor(r, new Date())).startsAt.getTime() - 1)))]));
    const streams = opts.regions.map((region, i) => {
      const c = closing.get(region)!;
      const occurredAt = (n: number) => new Date(c.startsAt.getTime() + 60_000 + (n % 9000) * 60_000);
      const orderBase = 800000000000000000n + BigInt(i) * 10_000_000_000_000_000n;
      const stream = orderStream({ orders: opts.orders, sellers: opts.sellers, region, seed: opts.seed * 31 + i, prefix: `chaos-${run}-${region}`, occurredAt, orderBase });
      return [...stream, ...debits(stream, `chaos-${run}-${region}`, orderBase + BigInt(opts.orders), occurredAt(0))];
    });
    const events = streams.flat();
    const resent = events.filter((_, i) => i % 50 === 7);
    const half = Math.floor(events.length / 2);
    say(`publishing ${events.length} order events (+${resent.length} sent twice) for ${opts.regions.join(' and ')}`);
    await publishOrderEvents(ctx, ORDER_TOPIC, events.slice(0, half), { retryUntil: deadline });
    if (opts.cluster) {
      const frozen = freeze('settlement-aggregation-1');
      const { partitionsLed } = await stack.kafkaLeadership(PIPELINE_TOPICS);
      const [victim, led] = [...partitionsLed].sort((a, b) => b[1] - a[1])[0]!;
      await stack.stopKafkaNode(victim, 'SIGKILL');
      note(`Kafka node ${victim} (leader of ${led} partitions) kill -9; publishing goes on with two nodes`);
      await publishOrderEvents(ctx, ORDER_TOPIC, [...events.slice(half), ...resent], { retryUntil: deadline });
      await restartNode(stack, victim, deadline, note);
      await frozen;
    } else {
      const broker = await stack.killAndRestart('kafka');
      note(`Kafka broker kill -9 and restart (${(broker.downMs / 1000).toFixed(1)} s down)`);
      await publishOrderEvents(ctx, ORDER_TOPIC, [...events.slice(half), ...resent], { retryUntil: deadline });
    }
    lap('publish');

    const csv = path.join(dir, 'billing-items.csv');
    const upload = await writeDemoUpload(csv, opts.uploadRows, opts.sellers, `chaos-${run}`);
    const ids = await ctx.ids();
    const intake = await intakeUpload({ db, kafka: ctx.kafka, codec: ctx.codec, registry: ctx.registry, ids, dataDir: stack.config.dataDir, logger: ctx.logger }, fs.createReadStream(csv), { fileName: 'billing-items.csv', actor: 'chaos' });
    const uploadCycle = cycleIdFor('SG', new Date());
    say(`uploaded ${opts.uploadRows} rows as upload ${intake.uploadId}`);
    await sleep(1500);
    // On a cluster the node stays down until the upload is in: the upload runs on two nodes.
    const dbVictim = await dbFaults?.killRoutedNode();
    if (!dbFaults) {
      const mysql = await stack.killAndRestart('mysql');
      note(`MariaDB kill -9 and restart (${(mysql.downMs / 1000).toFixed(1)} s down)`);
    }
    if (opts.cluster) {
      const { controller } = await stack.kafkaLeadership(PIPELINE_TOPICS);
      if (controller === undefined) throw new ChaosRunError('the cluster did not report its active controller');
      await stack.stopKafkaNode(controller, 'SIGKILL');
      note(`Kafka node ${controller} (the active controller) kill -9`);
      await restartNode(stack, controller, deadline, note);
    }
    await waitUntil('the upload to finish', deadline, async () => {
      const row = (await db('upload').select('status').where({ id: intake.uploadId.toString() }).first()) as { status: string } | undefined;
      return row && row.status !== 'PROCESSING' && row.status !== 'RECEIVING' ? true : undefined;
    });
    lap('upload');

    // On a database cluster: the killed node rejoins as the closes start, and the writes fail back
    // to it under them; a standby is killed and restarted once payouts go out.
    const dbClusterFaults = (async () => {
      if (!dbFaults || dbVictim === undefined) return;
      await dbFaults.restart(dbVictim);
      await waitUntil('the first payout', deadline, async () => ((await count(db('payout'))) > 0 ? true : undefined));
      const standby = await dbFaults.killStandbyNode();
      await sleep(DB_STANDBY_DOWN_MS);
      await dbFaults.restart(standby);
    })();

    // Payment faults start with the first payout, while the closes still run.
    const paymentFaults = (async () => {
      await waitUntil('the first payout', deadline, async () => ((await count(db('payout'))) > 0 ? true : undefined));
      // The bank sends each final report and notification twice, a while after accepting a file,
      // so the bank rail is often killed with a report in hand.
      await stack.bankFaults({ duplicateReports: true, reportDelayMs: 1500 });
      note('bank reports delayed 1.5 s and each sent twice');
      await stack.gatewayOutage(opts.outageMs);
      note(`gateway outage for ${opts.outageMs / 1000} s`);
      await sleep(opts.outageMs / 2);
      await stack.flushRedis();
      note('Redis FLUSHALL');
    })();
    // On a cluster: a frozen payment instance, and every node restarted in turn under the closes.
    const clusterFaults = (async () => {
      if (!opts.cluster) return;
      await waitUntil('the first payout', deadline, async () => ((await count(db('payout'))) > 0 ? true : undefined));
      const frozen = freeze('payment-notify-1');
      for (const id of stack.kafkaNodes) {
        await stack.stopKafkaNode(id, 'SIGTERM');
        note(`rolling restart: Kafka node ${id} stopped cleanly`);
        await restartNode(stack, id, deadline, note);
      }
      await frozen;
    })();
    // A fault that fails is thrown where it is awaited, after the closes; until then it must not
    // count as unhandled, which would end the process with the private stack still running.
    for (const faults of [paymentFaults, clusterFaults, dbClusterFaults]) faults.catch(() => undefined);
    let killedClose = false;
    for (const region of opts.regions) {
      // The first close dies the moment its cycle turns CLOSING: past the watermark, before or
      // among its payouts, the point where a half-done close is most dangerous.
      const closingNow = async () => ((await db('settlement_cycle').where({ region, cycle_id: closing.get(region)!.cycleId.toString(), status: 'CLOSING' }).first()) !== undefined);
      for (let attempt = 1; ; attempt++) {
        if (Date.now() > deadline) throw new ChaosRunError(`the ${region} close did not finish in time`);
        const outcome = await closeOnce(stack, region, path.join(dir, 'logs', `close-${region}.log`), killedClose ? undefined : closingNow);
        if (outcome === 'killed') {
          killedClose = true;
          note(`kill -9 sts settle close --region ${region} as the cycle turned CLOSING; running it again`);
          continue;
        }
        if (outcome === 'ok') break;
        note(`sts settle close --region ${region} exited with ${outcome} (attempt ${attempt}); running it again`);
        await sleep(2000);
      }
      say(`closed ${region}`);
    }
    await paymentFaults;
    await clusterFaults;
    await dbClusterFaults;
    lap('close');

    await waitUntil('every payout to be final', deadline, async () => ((await count(db('payout').whereIn('status', ['PENDING', 'SUBMITTED']))) === 0 ? true : undefined));
    monkey.stop();
    lap('payments');
    await waitForQuiet(ctx, deadline);
    lap('quiescence');

    const cycles = opts.regions.map((region, i) => ({ region, cycleId: closing.get(region)!.cycleId, expected: expectedSettlement(streams[i]!, RATE_BPS) }));
    const expectations: ChaosExpectations = { cycles, upload: { ...upload, uploadId: intake.uploadId, cycleId: uploadCycle }, topics: settlementTopology.processors.map((p) => p.input) };
    const recon = () => ReconRunner.fromConfig(stack.config, { db, logger: ctx!.logger }).run();
    const orders = { topic: ORDER_TOPIC, published: [...events, ...resent], codec: ctx.codec };
    const checks = await runChaosChecks({ db, kafka: ctx.kafka, gatewayUrl: stack.config.gatewayUrl, bankUrl: stack.config.bankUrl, recon, orders }, expectations);
    if (opts.dbCluster) checks.push(await dbClusterCheck(stack));
    lap('checks');
    seconds.total = Math.round((Date.now() - started) / 100) / 10;
    return { ok: checks.every((c) => c.ok), dir, seed: opts.seed, events: events.length + resent.length, uploadRows: opts.uploadRows, payouts: await count(db('payout')), faults, processes: supervisor.stats(), checks, seconds };
  } finally {
    monkey?.stop();
    await supervisor?.stop();
    await ctx?.close().catch(() => undefined);
    if (!opts.keep) {
      await stack.down();
      // The logs and the report stay; the private stack's data (jars, logs of the broker, the
      // database files) is a few hundred MB per run and means nothing once it is down.
      for (const sub of ['kafka', 'mysql', 'galera', 'redis', 'gateway', 'bank', 'bank-files', 'uploads', 'billing-items.csv']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    }
  }
}

/** `sts up` starts the stopped node again; the fault is over once every partition is back in sync. */
async function restartNode(stack: ChaosStack, id: number, deadline: number, note: (what: string) => void): Promise<void> {
  const started = Date.now();
  await stack.up();
  const up = Date.now() - started;
  await waitUntil(`Kafka node ${id}'s partitions back in sync`, deadline, async () => ((await stack.underReplicated(PIPELINE_TOPICS)) === 0 ? true : undefined));
  note(`Kafka node ${id} restarted (${(up / 1000).toFixed(1)} s), every partition in sync ${((Date.now() - started) / 1000).toFixed(1)} s after`);
}

/**
 * A large debit adjustment for every 50th seller, so those sellers end the cycle below zero and
 * the close carries their balance forward: the carry-forward path is under fire too.
 */
function debits(stream: OrderEvent[], prefix: string, orderBase: bigint, occurredAt: Date): OrderEvent[] {
  const sellers = [...new Set(stream.map((e) => e.shop_user_id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((_, k) => k % 50 === 3);
  const first = stream[0]!;
  return sellers.map((seller, k) => ({ ...first, event_id: `${prefix}-debit-${k}`, event_type: 'ORDER_ADJUSTED', order_id: orderBase + BigInt(k), shop_user_id: seller, affiliate_user_id: null, amount_minor: -10_000_000n, occurred_at: occurredAt }));
}

/** One `sts settle close` process; killed with SIGKILL as soon as `killWhen` says so, if given. */
function closeOnce(stack: ChaosStack, region: string, logFile: string, killWhen?: () => Promise<boolean>): Promise<'ok' | 'killed' | string> {
  return new Promise((resolve) => {
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'sts.js'), 'settle', 'close', '--region', region, '--drain', '--timeout', '600'], { cwd: PROJECT_ROOT, env: stack.env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    let killed = false;
    let exited = false;
    void (async () => {
      while (killWhen && !exited && !killed) {
        if (await killWhen().catch(() => false)) {
          killed = child.kill('SIGKILL');
          break;
        }
        await sleep(20);
      }
    })();
    child.on('exit', (code, signal) => {
      exited = true;
      resolve(code === 0 ? 'ok' : killed ? 'killed' : `exit ${code ?? signal}`);
    });
  });
}

/** Quiet: the outbox is empty and every processor's group has read its input to the end. */
async function waitForQuiet(ctx: AppContext, deadline: number): Promise<void> {
  const sampler = new LagSampler(ctx.kafka);
  try {
    await waitUntil('the pipeline to go quiet', deadline, async () => {
      if ((await count(ctx.db('outbox').whereNull('published_at'))) > 0) return undefined;
      const samples = await sampler.sample(topologyTargets(settlementTopology));
      return samples.every((g) => !g.error && g.partitions.every((p) => p.lag === 0n)) ? true : undefined;
    });
  } finally {
    await sampler.close();
  }
}

async function count(q: Knex.QueryBuilder): Promise<number> {
  const [row] = (await q.count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}
