import type { Knex } from '../../runtime/db/knex';
import { PartitionReader } from '../../runtime/kafka/partition-reader';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import type { OrderEvent } from '../../contracts/order-event';
import type { Kafka } from 'kafkajs';

/**
 * Two checks of the order-event topic itself, for runs that move partition leaders under the
 * publisher (`sts chaos --cluster`): what the brokers acknowledged must all be there, and no
 * seller's events may come out in another order than they went in.
 */

/**
 * Problems, one per acknowledged event missing from the ledger. `published` is every event the
 * publisher sent and was told was written (acks=all): each must be an ORDER billing item, whose
 * source_ref is the event id.
 */
export async function acknowledgedMissing(db: Knex, published: readonly OrderEvent[]): Promise<string[]> {
  const want = new Set(published.map((e) => e.event_id));
  const rows = (await db('billing_item').where({ source: 'ORDER' }).select('source_ref')) as Array<{ source_ref: string }>;
  for (const r of rows) want.delete(r.source_ref);
  return [...want].map((id) => `event ${id} was acknowledged but is not in the ledger`);
}

/**
 * Problems, one per event found out of its seller's order on the topic. `published` is in the
 * order the publisher sent it; an event sent twice (a retry, a resend) counts at its first
 * occurrence, since a later copy is a duplicate the pipeline drops. Reads every partition to its
 * end at READ_COMMITTED.
 */
export async function reorderedKeys(kafka: Kafka, codec: AvroCodec, topic: string, published: readonly OrderEvent[]): Promise<{ problems: string[]; records: number }> {
  const sentAt = new Map<string, number>();
  published.forEach((e, i) => {
    if (!sentAt.has(e.event_id)) sentAt.set(e.event_id, i);
  });
  const reader = new PartitionReader(kafka);
  const problems: string[] = [];
  let records = 0;
  try {
    for (const p of await reader.offsets(topic)) {
      const seen = new Set<string>();
      const lastBySeller = new Map<bigint, { at: number; id: string }>();
      for await (const record of reader.read(topic, p.partition, p.start, p.stable)) {
        records++;
        if (!record.value) continue;
        const { value } = await codec.decode<OrderEvent>(record.value, { topic, partition: p.partition, offset: record.offset.toString() });
        if (seen.has(value.event_id)) continue;
        seen.add(value.event_id);
        const at = sentAt.get(value.event_id);
        if (at === undefined) continue;
        const last = lastBySeller.get(value.shop_user_id);
        if (last && at < last.at) problems.push(`seller ${value.shop_user_id}: ${value.event_id} (sent #${at}) is after ${last.id} (sent #${last.at}) at partition ${p.partition} offset ${record.offset}`);
        else lastBySeller.set(value.shop_user_id, { at, id: value.event_id });
      }
    }
  } finally {
    await reader.close();
  }
  return { problems, records };
}
