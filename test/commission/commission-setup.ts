import fs from 'node:fs';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { PROJECT_ROOT } from '../../runtime/config';
import type { Knex } from '../../runtime/db/knex';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { ensureTopicList } from '../../runtime/kafka/topic-admin';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { dlqTopic, valueSubject } from '../../runtime/topology/types';
import type { CommissionRequest } from '../../contracts/commission-request';
import type { TestResources } from '../helpers/resources';
import { offsetsAtEnd, startInProcess, waitFor } from '../fixtures/processor-harness';
import { commission } from '../../processors/commission/processor';

/** 18-digit ids, like production (docs/DESIGN.md, lesson 8). */
export const SELLER = 652024209997893632n;
export const AFFILIATE = 652024209997893633n;
export const ORDER_BASE = 652024209997900000n;

/**
 * A migrated database, a topic with its DLQ and the real commission-request schema registered
 * under `<topic>-value`, and an id generator on a leased worker, all owned by the test.
 */
export async function commissionSetup(r: TestResources, partitions = 3) {
  const { db, url } = await r.database();
  const topic = await r.topic('commission', partitions);
  const dlq = dlqTopic(topic);
  await ensureTopicList(r.kafka, [{ topic: dlq, numPartitions: 1 }]);
  r.defer(async () => {
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlq] }).finally(() => admin.disconnect());
  });
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const schema = fs.readFileSync(
    path.join(PROJECT_ROOT, 'schemas', 'commission-request.avsc'),
    'utf8',
  );
  const schemaId = await registry.register(valueSubject(topic), schema);
  const lease = await WorkerLease.acquire(db, { datacenterId: 6, owner: 'test-commission' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  return { db, url, topic, dlq, registry, codec, schemaId, ids, group: r.group('commission') };
}

export type CommissionEnv = Awaited<ReturnType<typeof commissionSetup>>;

export function request(
  over: Partial<CommissionRequest> & Pick<CommissionRequest, 'request_id' | 'order_id'>,
): CommissionRequest {
  return {
    kind: 'CHARGE',
    shop_user_id: SELLER,
    affiliate_user_id: null,
    region: 'SG',
    currency: 'SGD',
    category: 'electronics',
    amount_minor: 10_000n,
    occurred_at: new Date('2026-03-04T05:00:00Z'),
    ...over,
  };
}

/** Publishes in order, keyed by seller as upstream does, so one seller's requests stay in order. */
export async function produce(
  r: TestResources,
  env: CommissionEnv,
  requests: CommissionRequest[],
): Promise<void> {
  const producer = r.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = [];
    for (const req of requests)
      messages.push({
        key: req.shop_user_id.toString(),
        value: await env.codec.encode(env.schemaId, req),
      });
    await producer.send({ topic: env.topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

export interface ItemRow {
  shop_user_id: string;
  amount_minor: string;
  item_type: string;
  source_ref: string;
  order_id: string;
  cycle_id: string;
  late: number;
}

export async function commissionItems(db: Knex): Promise<ItemRow[]> {
  return (await db('billing_item')
    .where({ source: 'COMMISSION' })
    .select(
      'shop_user_id',
      'amount_minor',
      'item_type',
      'source_ref',
      'order_id',
      'cycle_id',
      'late',
    )
    .orderBy('id')) as ItemRow[];
}

/** Sum of a seller's commission items, exact. */
export async function balanceOf(db: Knex, shopUserId: bigint): Promise<bigint> {
  const rows = (await db('settlement_account')
    .where({ region: 'SG', shop_user_id: shopUserId })
    .select('balance_minor')) as Array<{ balance_minor: string }>;
  return rows.reduce((sum, row) => sum + BigInt(row.balance_minor), 0n);
}

/** Every message on the DLQ, read from the beginning by a throwaway group. */
export async function readDlq(
  r: TestResources,
  topic: string,
  expected: number,
): Promise<KafkaMessage[]> {
  const consumer = r.kafka.consumer({ groupId: r.group('dlq-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  await waitFor(`${expected} DLQ messages`, async () => got.length >= expected, 30_000);
  await consumer.disconnect();
  return got;
}

/** Runs the commission processor, in the test's own group, until every record is committed. */
export async function drain(
  r: TestResources,
  env: CommissionEnv,
  group = env.group,
): Promise<void> {
  const handle = await startInProcess(r, { ...commission(env.ids, env.topic), group }, env);
  await waitFor('commission offsets at the end', () => offsetsAtEnd(r.kafka, group, env.topic));
  await handle.stop();
}
