import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { PROJECT_ROOT, withDatabase, type StsConfig } from '../../runtime/config';
import { migrateLatest } from '../../runtime/db/migrate';
import { ensureTopicList, PIPELINE_TOPIC_CONFIG } from '../../runtime/kafka/topic-admin';
import { cycleBounds, cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { OutboxRelay } from '../../runtime/outbox/outbox-relay';
import { regionInfo } from '../../runtime/money/regions';
import { runProcessor, type ProcessorHandle } from '../../runtime/processor/processor';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { dlqTopic, valueSubject } from '../../runtime/topology/types';
import { dropDatabase, ensureDatabase } from '../../infra/mysql-server';
import { createBankSimulator } from '../../infra/bank-simulator/server';
import { createGatewaySimulator } from '../../infra/gateway-simulator/server';
import { parsePayoutRails } from '../../runtime/payouts/payout-rails';
import { BankRailWorker } from '../../settlement/bank-file/bank-rail-worker';
import { commission } from '../../processors/commission/processor';
import { addRule } from '../../processors/commission/rule-store';
import { paymentNotifyFromConfig } from '../../processors/payment-notify/from-config';
import { settlementAggregation } from '../../processors/settlement-aggregation/processor';
import { uploadIngestion } from '../../processors/upload-ingestion/processor';
import { closeCycle } from '../../settlement/cycle-close/close-cycle';
import { publishOrderEvents } from '../orders/order-publisher';
import { orderStream } from '../orders/synthetic-orders';
import { registerStreamPayees } from './synthetic-payees';
import { writeDemoUpload } from './demo-upload';
import { ReconRunner } from '../../services/recon/recon-runner';
import { createAppContext, type AppContext } from '../../services/run/app-context';
import { intakeUpload } from '../../services/uploads/upload-intake';
import { FINAL_UPLOAD_STATES, readUploadStatus } from '../../services/uploads/upload-status';

/**
 * `npm run demo`: the whole story on the local stack, in one process, on its own database
 * (`sts_demo`, recreated each run), its own topics (`sts.demo-<run>.*`) and its own gateway and
 * bank simulators, so it can run again and again and never touches the pipeline's own data:
 *   order events for two regions → aggregation → commission → an upload with bad rows →
 *   close both regions (watermark, payouts, pain.001) → payments on each region's rail: the
 *   first region's through pain.001 files to the bank simulator and its status reports back, the
 *   others' through the gateway simulator → reconciliation → a summary with counts, sums, timings
 *   and where to look.
 */
export interface DemoOptions {
  regions: string[];
  /** Completed orders per region (refunds and adjustments come on top). */
  orders: number;
  sellers: number;
  uploadRows: number;
}

export const DEMO_DEFAULTS: DemoOptions = { regions: ['SG', 'MY'], orders: 87_000, sellers: 5_000, uploadRows: 100_000 };

export interface DemoSummary {
  database: string;
  dataDir: string;
  events: number;
  billingItems: Record<string, number>;
  upload: { id: bigint; total: bigint; accepted: bigint; rejected: bigint; duplicates: bigint };
  cycles: Array<{ region: string; cycleId: bigint; payouts: Record<string, number>; files: string[] }>;
  payments: Record<string, { count: number; sumMinor: bigint; currency: string }>;
  recon: { critical: number; open: number; bySeverity: Record<string, number> };
  seconds: Record<string, number>;
}

const PROCESSORS = ['settlement-aggregation', 'upload-ingestion', 'commission', 'payment-notify'] as const;

export async function runFullDemo(config: StsConfig, say: (line: string) => void, opts: DemoOptions = DEMO_DEFAULTS): Promise<DemoSummary> {
  const started = Date.now();
  const seconds: Record<string, number> = {};
  let mark = started;
  const lap = (name: string) => {
    seconds[name] = Math.round((Date.now() - mark) / 100) / 10;
    mark = Date.now();
  };
  const run = Date.now().toString(36);
  const database = 'sts_demo';
  const dataDir = path.join(config.dataDir, 'demo', run);
  await fs.promises.mkdir(dataDir, { recursive: true });
  await dropDatabase(config.mysqlUrl, database).catch(() => undefined);
  await ensureDatabase(config.mysqlUrl, database);
  await clearDemoRedis(config.redisUrl, database);
  const sim = await createGatewaySimulator({ journalDir: path.join(dataDir, 'gateway') });
  const gatewayUrl = await sim.listen(0, '127.0.0.1');
  // The first region pays through bank files, the others through the gateway: both rails, once.
  const rails = parsePayoutRails(`${opts.regions[0]}=bank-file`);
  const bankDirs = { outboundDir: path.join(dataDir, 'bank', 'outbound'), inboundDir: path.join(dataDir, 'bank', 'inbound') };
  const bank = await createBankSimulator({ ...bankDirs, journalDir: path.join(dataDir, 'bank'), pollMs: 100 });
  await bank.listen(0, '127.0.0.1');
  const ctx = createAppContext({ ...config, mysqlUrl: withDatabase(config.mysqlUrl, database), dataDir, gatewayUrl }, 'sts-demo', { logLevel: process.env.STS_LOG_LEVEL ?? 'error' });
  const handles: Array<{ stop(): Promise<void> }> = [];
  try {
    await migrateLatest(ctx.db);
    const topics = await demoTopics(ctx, run);
    for (const region of opts.regions) await addRule(ctx.db, { region, category: '*', rateBps: 250, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'demo');
    say(`demo ${run}: database ${database}, topics sts.demo-${run}.*, gateway simulator ${gatewayUrl}`);

    const ids = await ctx.ids();
    const deps = { config: ctx.config, db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, outbox: ctx.outbox, logger: ctx.logger };
    const closing = Object.fromEntries(opts.regions.map((r) => [r, cycleBounds(r, cycleIdFor(r, new Date(cycleBounds(r, cycleIdFor(r, new Date())).startsAt.getTime() - 1)))]));
    const defs: Record<(typeof PROCESSORS)[number], ProcessorDefinition<never>> = {
      'settlement-aggregation': settlementAggregation(ids, topics.orders, topics.commission) as unknown as ProcessorDefinition<never>,
      'upload-ingestion': uploadIngestion(ids, topics.uploads) as unknown as ProcessorDefinition<never>,
      commission: commission(ids, topics.commission) as unknown as ProcessorDefinition<never>,
      'payment-notify': { ...paymentNotifyFromConfig(ctx.config, ids), topic: topics.payouts } as unknown as ProcessorDefinition<never>,
    };
    for (const name of PROCESSORS) handles.push(await runProcessor({ ...defs[name], group: `sts.demo-${run}.${name}` }, deps, { sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 10_000 }) as ProcessorHandle);
    const relay = new OutboxRelay({ db: ctx.db, kafka: ctx.kafka, logger: ctx.logger });
    await relay.start();
    handles.push(relay);
    const bankRail = new BankRailWorker({ db: ctx.db, ids, outbox: ctx.outbox, dataDir, ...bankDirs, environment: 'DEMO', logger: ctx.logger }, 250);
    bankRail.start();
    handles.push(bankRail);
    // Every seller gets a payee account, as a marketplace registers them at onboarding: a payout
    // to a seller without one is held (NO_PAYEE_ACCOUNT).
    const payees = await registerStreamPayees(ctx.db, opts.regions.map((r) => regionInfo(r)!.currency), opts.sellers, 'cli:demo');
    say(`registered ${payees} payee accounts`);
    lap('setup');

    let events = 0;
    for (const region of opts.regions) {
      const stream = orderStream({ orders: opts.orders, sellers: opts.sellers, region, seed: 42 + opts.regions.indexOf(region), prefix: `demo-${run}-${region}`, occurredAt: (i) => new Date(closing[region]!.startsAt.getTime() + 60_000 + (i % 9000) * 60_000), orderBase: region === opts.regions[0] ? 800000000000000000n : 810000000000000000n });
      events += stream.length;
      await publishOrderEvents(ctx, topics.orders, stream);
    }
    say(`published ${events} order events for ${opts.regions.join(' and ')}`);
    lap('publish orders');

    const csv = path.join(dataDir, 'billing-items.csv');
    await writeDemoUpload(csv, opts.uploadRows, opts.sellers, `demo-${run}`);
    const intake = await intakeUpload(
      { db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, registry: ctx.registry, ids, dataDir, logger: ctx.logger },
      fs.createReadStream(csv),
      { fileName: 'billing-items.csv', actor: 'demo' },
      { topic: topics.uploads },
    );
    let upload = await readUploadStatus(ctx.db, intake.uploadId);
    while (!FINAL_UPLOAD_STATES.has(upload.status)) {
      await new Promise((r) => setTimeout(r, 500));
      upload = await readUploadStatus(ctx.db, intake.uploadId);
    }
    say(`upload ${upload.id}: ${upload.totalRows} rows, ${upload.acceptedRows} accepted, ${upload.rejectedRows} rejected (npx sts upload rejects needs STS_MYSQL_URL=…/${database})`);
    lap('upload');

    const cycles: DemoSummary['cycles'] = [];
    for (const region of opts.regions) {
      const result = await closeCycle(
        { db: ctx.db, kafka: ctx.kafka, ids, outbox: ctx.outbox, dataDir, logger: ctx.logger },
        {
          region,
          cutoff: closing[region]!.cutoffAt,
          drainUntil: new Date(),
          watermarkTimeoutMs: 600_000,
          payoutsTopic: topics.payouts,
          rails,
          bank: { outboundDir: bankDirs.outboundDir, environment: 'DEMO' },
          plan: { inputs: [{ topic: topics.orders, group: `sts.demo-${run}.settlement-aggregation` }], derived: [{ topic: topics.commission, group: `sts.demo-${run}.commission` }] },
        },
      );
      cycles.push({ region, cycleId: result.cycleId, payouts: result.byStatus, files: result.files.map((f) => f.path) });
      say(`closed ${region} cycle ${result.cycleId}: ${JSON.stringify(result.byStatus)}`);
    }
    lap('close');

    const payable = cycles.reduce((n, c) => n + (c.payouts.PENDING ?? 0), 0);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const [row] = (await ctx.db('payout').whereIn('status', ['PAID', 'FAILED']).count({ n: '*' })) as Array<{ n: number | string }>;
      if (Number(row?.n ?? 0) >= payable) break;
      if (Date.now() > deadline) throw new Error(`payments did not finish: ${row?.n}/${payable}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    say(`paid ${payable} payouts: ${opts.regions[0]} through bank files, ${opts.regions.slice(1).join(' and ') || 'no other region'} through the gateway simulator`);
    lap('payments');

    const recon = await ReconRunner.fromConfig(ctx.config, { db: ctx.db, logger: ctx.logger }).run();
    lap('reconciliation');
    const items = (await ctx.db('billing_item').select('source').count({ n: '*' }).groupBy('source')) as Array<{ source: string; n: number | string }>;
    const paid = (await ctx.db('payout').select('status', 'currency').count({ n: '*' }).sum({ s: 'amount_minor' }).whereIn('status', ['PAID', 'FAILED']).groupBy('status', 'currency')) as Array<{ status: string; currency: string; n: number; s: string }>;
    seconds.total = Math.round((Date.now() - started) / 100) / 10;
    return {
      database,
      dataDir,
      events,
      billingItems: Object.fromEntries(items.map((i) => [i.source, Number(i.n)])),
      upload: { id: upload.id, total: upload.totalRows, accepted: upload.acceptedRows, rejected: upload.rejectedRows, duplicates: upload.duplicateRows },
      cycles,
      payments: Object.fromEntries(paid.map((p) => [`${p.status} ${p.currency}`, { count: Number(p.n), sumMinor: BigInt(p.s), currency: p.currency }])),
      recon: { critical: recon.critical, open: recon.open.length, bySeverity: recon.open.reduce<Record<string, number>>((acc, f) => ((acc[f.severity] = (acc[f.severity] ?? 0) + 1), acc), {}) },
      seconds,
    };
  } finally {
    for (const h of handles.reverse()) await h.stop().catch(() => undefined);
    await ctx.close();
    await sim.close();
    await bank.close();
  }
}

async function demoTopics(ctx: AppContext, run: string) {
  const topics = { orders: `sts.demo-${run}.order-events.v1`, uploads: `sts.demo-${run}.upload-chunks.v1`, commission: `sts.demo-${run}.commission-requests.v1`, payouts: `sts.demo-${run}.payouts.v1` };
  await removeOldDemoTopics(ctx.kafka, run);
  await ensureTopicList(ctx.kafka, Object.values(topics).flatMap((t) => [{ topic: t, numPartitions: 12, configEntries: PIPELINE_TOPIC_CONFIG }, { topic: dlqTopic(t), numPartitions: 1 }]));
  const schema = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', f), 'utf8');
  await ctx.registry.register(valueSubject(topics.orders), schema('order-event.avsc'));
  await ctx.registry.register(valueSubject(topics.uploads), schema('upload-chunk.avsc'));
  await ctx.registry.register(valueSubject(topics.commission), schema('commission-request.avsc'));
  await ctx.registry.register(valueSubject(topics.payouts), schema('payout.avsc'));
  return topics;
}

/** Earlier demo runs' topics: their database is gone, so their messages mean nothing now. */
async function removeOldDemoTopics(kafka: Kafka, run: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const old = (await admin.listTopics()).filter((t) => t.startsWith('sts.demo-') && !t.startsWith(`sts.demo-${run}.`));
    if (old.length > 0) await admin.deleteTopics({ topics: old });
  } finally {
    await admin.disconnect();
  }
}

/** The previous run's delay queue and claims refer to payouts of the dropped database. */
async function clearDemoRedis(redisUrl: string, database: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `sts:pay:{${database}}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
