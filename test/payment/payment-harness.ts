import fs from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { PROJECT_ROOT } from '../../runtime/config';
import type { Knex } from '../../runtime/db/knex';
import type { GatewayClient } from '../../runtime/gateway/gateway-client';
import type { GatewayClientOptions } from '../../runtime/gateway/gateway-client-options';
import { ensureTopicList } from '../../runtime/kafka/topic-admin';
import type { ProcessorHandle } from '../../runtime/processor/processor';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../../runtime/topology/types';
import type { PaymentNotifyOptions } from '../../processors/payment-notify/payment-options';
import { paymentNotify } from '../../processors/payment-notify/processor';
import { startInProcess } from '../fixtures/processor-harness';
import type { useGatewayHarness } from '../gateway/harness';
import type { TestResources } from '../helpers/resources';

/**
 * A payment test's own world: a migrated database, a payout topic with its DLQ, a results topic,
 * both schemas registered under the test's subjects, a Redis key namespace derived from the
 * database name, and a real gateway simulator process on a free port with its own journal.
 */

/** 18-digit ids and amounts above 2^53, so a trip through a JS number would show (lesson 8). */
export const PAYOUT_BASE = 652024209997893632n;
export const SELLER_BASE = 652024209997800000n;
export const AMOUNT_BASE = 9_007_199_254_740_993n;
export const CYCLE = 20261116n;

const schemaText = (file: string) =>
  fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', file), 'utf8');

export type GatewayHarness = ReturnType<typeof useGatewayHarness>;

export interface PaymentWorld {
  db: Knex;
  url: string;
  database: string;
  topic: string;
  dlq: string;
  resultsTopic: string;
  group: string;
  registry: RegistryClient;
  codec: AvroCodec;
  payoutSchemaId: number;
  keyPrefix: string;
  simUrl: string;
}

export async function paymentWorld(
  r: TestResources,
  gw: GatewayHarness,
  opts: { partitions?: number; simArgs?: string[] } = {},
): Promise<PaymentWorld> {
  const { db, url, name } = await r.database();
  const topic = await r.topic('payouts', opts.partitions ?? 3);
  const dlq = dlqTopic(topic);
  await ensureTopicList(r.kafka, [{ topic: dlq, numPartitions: 1 }]);
  r.defer(async () => {
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlq] }).finally(() => admin.disconnect());
  });
  const resultsTopic = await r.topic('results', 3);
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const payoutSchemaId = await registry.register(valueSubject(topic), schemaText('payout.avsc'));
  await registry.register(valueSubject(resultsTopic), schemaText('payout-result.avsc'));
  const sim = await gw.spawn(gw.tempDir(), 0, opts.simArgs ?? []);
  return {
    db,
    url,
    database: name,
    topic,
    dlq,
    resultsTopic,
    group: r.group('pay'),
    registry,
    codec,
    payoutSchemaId,
    keyPrefix: `sts:pay:{${name}}:`,
    simUrl: sim.url,
  };
}

export interface SeedPayout {
  id: bigint;
  shopUserId: bigint;
  amountMinor: bigint;
  status?: 'PENDING' | 'ON_HOLD' | 'CARRIED_FORWARD';
  cycleId?: bigint;
}

/** Amounts for runs of thousands of payouts: the ledger's totals must stay within BIGINT. */
export const SMALL_AMOUNT_BASE = 1_000_000_007n;

/** `n` payouts over `sellers` sellers, each seller with several payouts (one per cycle). */
export function makePayouts(
  n: number,
  sellers: number,
  offset = 0,
  amountBase = AMOUNT_BASE,
): SeedPayout[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    return {
      id: PAYOUT_BASE + BigInt(i),
      shopUserId: SELLER_BASE + BigInt(i % sellers),
      amountMinor: amountBase + BigInt(i),
      cycleId: CYCLE + BigInt(Math.floor(i / sellers)),
    };
  });
}

/** Payout rows as `sts settle close` would write them (SG, SGD). */
export async function seedPayoutRows(db: Knex, payouts: SeedPayout[]): Promise<void> {
  for (let i = 0; i < payouts.length; i += 5000) {
    await db('payout').insert(
      payouts.slice(i, i + 5000).map((p) => ({
        id: p.id.toString(),
        cycle_id: (p.cycleId ?? CYCLE).toString(),
        region: 'SG',
        shop_user_id: p.shopUserId.toString(),
        currency: 'SGD',
        amount_minor: p.amountMinor.toString(),
        status: p.status ?? 'PENDING',
      })),
    );
  }
}

/** Publishes payout events keyed by shop_user_id, partitioned like the outbox relay does. */
export async function publishPayouts(
  r: TestResources,
  w: PaymentWorld,
  payouts: SeedPayout[],
  override: (p: SeedPayout) => Partial<Record<string, unknown>> = () => ({}),
): Promise<void> {
  const producer = r.kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < payouts.length; i += 2000) {
      const messages = await Promise.all(
        payouts.slice(i, i + 2000).map(async (p) => ({
          key: p.shopUserId.toString(),
          value: await w.codec.encode(w.payoutSchemaId, {
            event_id: `payout-created:${p.id}`,
            payout_id: p.id,
            cycle_id: p.cycleId ?? CYCLE,
            region: 'SG',
            shop_user_id: p.shopUserId,
            currency: 'SGD',
            amount_minor: p.amountMinor,
            status: p.status ?? 'PENDING',
            created_at: new Date(),
            ...override(p),
          }),
        })),
      );
      await producer.send({ topic: w.topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Options that make a test's compensator quick; production keeps the defaults. */
export const FAST_COMPENSATOR: Partial<PaymentNotifyOptions> = {
  submittedGraceMs: 1000,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 2000,
  compensatorPollMs: 50,
  sweepIntervalMs: 5000,
  inProgressDelayMs: 500,
};

export interface RunningPayment {
  handle: ProcessorHandle;
  gateway: GatewayClient;
  metrics: Registry;
}

/** payment-notify in this process, on the world's topic, group and Redis namespace. */
export async function startPayment(
  r: TestResources,
  gw: GatewayHarness,
  w: PaymentWorld,
  redis: Redis,
  opts: { options?: Partial<PaymentNotifyOptions>; client?: Partial<GatewayClientOptions> } = {},
): Promise<RunningPayment> {
  const gateway = gw.client({
    baseUrl: w.simUrl,
    maxSockets: 160,
    maxFreeSockets: 160,
    ...opts.client,
  });
  const def = paymentNotify({
    redis,
    gateway,
    registry: w.registry,
    keyPrefix: w.keyPrefix,
    topic: w.topic,
    options: { resultsTopic: w.resultsTopic, ...FAST_COMPENSATOR, ...opts.options },
  });
  const metrics = new Registry();
  const handle = await startInProcess(
    r,
    { ...def, group: w.group },
    { db: w.db, codec: w.codec, registry: w.registry },
    {},
    metrics,
  );
  return { handle, gateway, metrics };
}

/** Deletes every Redis key of the world's namespace: FLUSHALL for this test alone. */
export async function flushNamespace(redis: Redis, keyPrefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      `${keyPrefix.replace(/[{}*?[\]]/g, '\\$&')}*`,
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
