import fs from 'node:fs';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { PROJECT_ROOT } from '../../runtime/config';
import { ensureTopicList } from '../../runtime/kafka/topic-admin';
import { dlqTopic, valueSubject } from '../../runtime/topology/types';
import type { OrderEvent } from '../../contracts/order-event';
import { settlementAggregation, type AggregationOptions } from '../../processors/settlement-aggregation/processor';
import type { TestResources } from '../helpers/resources';
import { offsetsAtEnd, startInProcess, waitFor } from '../fixtures/processor-harness';
import { uploadSetup } from '../fixtures/upload-harness';

/**
 * settlement-aggregation on a test's own order topic (one partition, so offsets are the order
 * sent), its DLQ, a commission topic for the outbox to encode against, and a migrated database.
 */
export async function aggregationSetup(r: TestResources, opts: AggregationOptions = {}) {
  const s = await uploadSetup(r, 1);
  const schema = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', f), 'utf8');
  const orders = await r.topic('orders', 1);
  const commission = await r.topic('commission', 1);
  const dlq = dlqTopic(orders);
  await ensureTopicList(r.kafka, [{ topic: dlq, numPartitions: 1 }]);
  r.defer(async () => {
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlq] }).finally(() => admin.disconnect());
  });
  const orderSchemaId = await s.registry.register(valueSubject(orders), schema('order-event.avsc'));
  await s.registry.register(valueSubject(commission), schema('commission-request.avsc'));
  const group = r.group('agg');

  async function start() {
    return startInProcess(r, { ...settlementAggregation(s.ids, orders, commission, opts), group }, s);
  }

  /** Publishes in order; returns each event's offset. */
  async function produce(events: OrderEvent[]): Promise<string[]> {
    const producer = r.kafka.producer();
    await producer.connect();
    try {
      const offsets: string[] = [];
      for (const e of events) {
        const value = await s.codec.encode(orderSchemaId, e);
        const [meta] = await producer.send({ topic: orders, messages: [{ key: String(e.shop_user_id), value, partition: 0 }] });
        offsets.push(meta!.baseOffset!);
      }
      return offsets;
    } finally {
      await producer.disconnect();
    }
  }

  const drained = () => waitFor('aggregation at the end of its topic', () => offsetsAtEnd(r.kafka, group, orders), 90_000);

  /** Every dead letter of the order topic, once `expected` have arrived. */
  async function deadLetters(expected: number): Promise<KafkaMessage[]> {
    const consumer = r.kafka.consumer({ groupId: r.group('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: dlq, fromBeginning: true });
    const got: KafkaMessage[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
    try {
      await waitFor(`${expected} dead letters`, async () => got.length >= expected, 30_000);
      // A moment more: more letters than expected is a failure too.
      await new Promise((res) => setTimeout(res, 500));
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

  return { ...s, orders, commission, dlq, group, start, produce, drained, deadLetters };
}

export const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();
