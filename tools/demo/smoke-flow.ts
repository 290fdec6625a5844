import crypto from 'node:crypto';
import type { StsConfig } from '../../runtime/config';
import { createDb } from '../../runtime/db/knex';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { createKafka } from '../../runtime/kafka/client';
import { createLogger } from '../../runtime/logger';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { runProcessor } from '../../runtime/processor/processor';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import { sleep } from '../../infra/process-control';
import { ORDER_EVENTS, type OrderEvent } from '../../contracts/order-event';
import { settlementAggregation } from '../../processors/settlement-aggregation/processor';

const TOPIC = ORDER_EVENTS.topic;

export interface SmokeResult {
  eventId: string;
  partition: number;
  offset: string;
  billingItemId: string;
  shopUserId: string;
  orderId: string;
  amountMinor: string;
  sellerBalanceMinor: string;
  cycleId: string;
  seconds: number;
}

/**
 * The smallest honest end-to-end run: one Avro order event through the real broker and registry,
 * consumed by the settlement-aggregation processor, landing as one billing item and a balance.
 */
export async function runSmokeFlow(config: StsConfig, report: (line: string) => void): Promise<SmokeResult> {
  const started = Date.now();
  const logger = createLogger('sts-demo', process.env.STS_LOG_LEVEL ?? 'warn');
  const db = createDb(config.mysqlUrl);
  const kafka = createKafka(config, 'sts-demo');
  const registry = new RegistryClient(config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'sts-demo' });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let processor: { stop(): Promise<void> } | undefined;
  try {
    const ids = new SnowflakeGenerator(lease);
    const event: OrderEvent = {
      event_id: `demo-${crypto.randomUUID()}`,
      event_type: 'ORDER_COMPLETED',
      order_id: 700000000000000000n + BigInt(crypto.randomInt(1, 2 ** 47)),
      shop_user_id: 652024209997893632n,
      region: 'SG',
      currency: 'SGD',
      amount_minor: 12345n,
      category: 'electronics',
      affiliate_user_id: null,
      occurred_at: new Date(),
    };
    const schemaId = await registry.latestId(valueSubject(TOPIC));
    await producer.connect();
    const [sent] = await producer.send({
      topic: TOPIC,
      messages: [{ key: event.shop_user_id.toString(), value: await codec.encode(schemaId, event) }],
    });
    report(`published ${event.event_id} to ${TOPIC}[${sent!.partition}]@${sent!.baseOffset} (schema id ${schemaId})`);

    processor = await runProcessor(settlementAggregation(ids), { config, db, kafka, codec, outbox: new OutboxWriter(codec, registry), logger });
    report('settlement-aggregation is consuming…');

    const deadline = Date.now() + 90_000;
    let item: Record<string, string> | undefined;
    while (!item && Date.now() < deadline) {
      item = (await db('billing_item').where({ region: event.region, source: 'ORDER', source_ref: event.event_id }).first()) as Record<string, string> | undefined;
      if (!item) await sleep(200);
    }
    if (!item) throw new Error(`no billing item for ${event.event_id} after 90 s; check \`npx sts status\` and the processor log`);
    const account = (await db('settlement_account')
      .where({ region: event.region, shop_user_id: event.shop_user_id.toString(), currency: event.currency, cycle_id: item.cycle_id })
      .first()) as Record<string, string>;
    return {
      eventId: event.event_id,
      partition: sent!.partition,
      offset: sent!.baseOffset ?? '',
      billingItemId: item.id!,
      shopUserId: item.shop_user_id!,
      orderId: item.order_id!,
      amountMinor: item.amount_minor!,
      sellerBalanceMinor: account.balance_minor!,
      cycleId: item.cycle_id!,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await processor?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await lease.release().catch(() => undefined);
    await db.destroy();
  }
}
