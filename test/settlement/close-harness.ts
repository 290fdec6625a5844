import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { ensureTopicList, PIPELINE_TOPIC_CONFIG } from '../../runtime/kafka/topic-admin';
import { createLogger } from '../../runtime/logger';
import { OutboxRelay } from '../../runtime/outbox/outbox-relay';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { cycleIdFor } from '../../runtime/ledger/cycle-calendar';
import { cycleBounds } from '../../runtime/ledger/cycle-bounds';
import { dlqTopic, valueSubject } from '../../runtime/topology/types';
import { commission } from '../../processors/commission/processor';
import { settlementAggregation } from '../../processors/settlement-aggregation/processor';
import { uploadIngestion } from '../../processors/upload-ingestion/processor';
import type { OrderEvent } from '../../contracts/order-event';
import type { WatermarkPlan } from '../../settlement/cycle-close/watermark';
import type { TestResources } from '../helpers/resources';
import { startInProcess } from '../fixtures/processor-harness';
import { uploadSetup } from '../fixtures/upload-harness';

/**
 * The whole settlement pipeline on a test's own topics and database: order events, upload chunks,
 * commission requests and payouts, the three processors in this process and an outbox relay.
 * `closing` is the SG cycle before the current one (it has ended, so it can close); `late` is the
 * one before that.
 */
export async function settlementSetup(r: TestResources) {
  const s = await uploadSetup(r, 4);
  const schema = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', f), 'utf8');
  const topics = { orders: await r.topic('orders', 6), commission: await r.topic('commission', 6), payouts: await r.topic('payouts', 3) };
  await ensureTopicList(r.kafka, [topics.orders, topics.commission].map((t) => ({ topic: dlqTopic(t), numPartitions: 1 })));
  // Append-time stamps, as on the real topics: the watermark reads them.
  await ensureTopicList(r.kafka, [
    { topic: topics.orders, numPartitions: 6, configEntries: PIPELINE_TOPIC_CONFIG },
    { topic: topics.commission, numPartitions: 6, configEntries: PIPELINE_TOPIC_CONFIG },
    { topic: s.topic, numPartitions: 4, configEntries: PIPELINE_TOPIC_CONFIG },
  ]);
  await s.registry.register(valueSubject(topics.orders), schema('order-event.avsc'));
  await s.registry.register(valueSubject(topics.commission), schema('commission-request.avsc'));
  await s.registry.register(valueSubject(topics.payouts), schema('payout.avsc'));
  const groups = { orders: r.group('agg'), commission: r.group('comm') };
  const current = cycleIdFor('SG', new Date());
  const closing = cycleBounds('SG', cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1)));
  const late = cycleBounds('SG', cycleIdFor('SG', new Date(closing.startsAt.getTime() - 1)));
  const plan: WatermarkPlan = {
    inputs: [
      { topic: topics.orders, group: groups.orders },
      { topic: s.topic, group: s.group },
    ],
    derived: [{ topic: topics.commission, group: groups.commission }],
  };
  const outbox = new OutboxWriter(s.codec, s.registry);
  const inClosing = () => new Date(closing.startsAt.getTime() + 3 * 86_400_000);

  async function startPipeline() {
    await startInProcess(r, { ...settlementAggregation(s.ids, topics.orders, topics.commission), group: groups.orders }, s, { maxRecordsPerTransaction: 2000 });
    await startInProcess(r, { ...uploadIngestion(s.ids, s.topic, inClosing), group: s.group }, s);
    await startInProcess(r, { ...commission(s.ids, topics.commission), group: groups.commission }, s, { maxRecordsPerTransaction: 2000 });
    const relay = new OutboxRelay({ db: s.db, kafka: r.kafka, logger: createLogger('test-relay', 'warn') });
    await relay.start();
    r.defer(() => relay.stop());
  }

  async function produce(events: OrderEvent[]) {
    const producer = r.kafka.producer();
    await producer.connect();
    const schemaId = await s.registry.latestId(valueSubject(topics.orders));
    for (let i = 0; i < events.length; i += 2000) {
      const messages = await Promise.all(events.slice(i, i + 2000).map(async (e) => ({ key: e.shop_user_id.toString(), value: await s.codec.encode(schemaId, e) })));
      await producer.send({ topic: topics.orders, messages });
    }
    await producer.disconnect();
  }

  return { ...s, topics, groups, plan, outbox, closing, late, inClosing, startPipeline, produce };
}
