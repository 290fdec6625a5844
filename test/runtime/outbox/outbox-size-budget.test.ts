import { ConfigResourceTypes } from 'kafkajs';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { createLogger } from '../../../runtime/logger';
import { EVENT_ID_HEADER, OutboxRelay } from '../../../runtime/outbox/outbox-relay';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { outboxStuck } from '../../../services/recon/rules/outbox-stuck';
import { useTestResources } from '../../fixtures/resources';

/**
 * What the relay publishes always fits the broker: a batch is split into requests that fit the
 * topic's max.message.bytes, and a row that can never fit (or whose headers are not JSON) is
 * parked with its reason instead of failing the batch, and every row queued after it, forever.
 * A parked row's later rows of the same key wait behind it, so a key's events never overtake.
 */
const r = useTestResources();
const registry = new RegistryClient(r.config.schemaRegistryUrl);
const codec = new AvroCodec(registry);
const logger = createLogger('outbox-size-test', process.env.STS_LOG_LEVEL ?? 'error');
const TOPIC_MAX = 32_768;
const SELLER = 652024209997893632n;

const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'RelaySizeEvent',
  namespace: 'sts.test',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'seq', type: 'long' },
    { name: 'pad', type: 'string' },
  ],
});

/** A 1-partition topic with a small max.message.bytes and a registered value schema. */
async function smallTopic(prefix: string): Promise<{ topic: string; schemaId: number }> {
  const topic = await r.topic(prefix, 1);
  const admin = r.kafka.admin();
  await admin.connect();
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX) }],
      },
    ],
  });
  await admin.disconnect();
  const subject = `${topic}-value`;
  const schemaId = await registry.register(subject, SCHEMA);
  r.defer(async () => {
    await fetch(`${registry.url}/subjects/${subject}`, { method: 'DELETE' });
    await fetch(`${registry.url}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
  });
  return { topic, schemaId };
}

async function insertRow(
  db: Knex,
  t: { topic: string; schemaId: number },
  key: string,
  seq: number,
  padBytes: number,
  headers: string | null = null,
): Promise<string> {
  const eventId = `${key}-${seq}`;
  const payload = await codec.encode(t.schemaId, {
    event_id: eventId,
    seq: BigInt(seq),
    pad: 'p'.repeat(padBytes),
  });
  await db('outbox').insert({ event_id: eventId, topic: t.topic, msg_key: key, payload, headers });
  return eventId;
}

/** Every event of the topic, in offset order, decoded. */
async function consume(
  topic: string,
  expected: number,
): Promise<Array<{ key: string; eventId: string; value: Buffer }>> {
  const consumer = r.kafka.consumer({ groupId: r.group('size'), maxBytesPerPartition: 4 << 20 });
  const got: Array<{ key: string; eventId: string; value: Buffer }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void got.push({
          key: message.key!.toString(),
          eventId: message.headers![EVENT_ID_HEADER]!.toString(),
          value: message.value!,
        }),
    });
    const deadline = Date.now() + 60_000;
    while (got.length < expected && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 50));
    // A moment more: anything past `expected` would be a bug (a parked row sent anyway).
    await new Promise((res) => setTimeout(res, 500));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Each published message carries exactly its outbox row's key and payload bytes. */
async function expectBytesOfRows(
  db: Knex,
  got: Array<{ key: string; eventId: string; value: Buffer }>,
) {
  const rows = await db('outbox').select('event_id', 'msg_key', 'payload');
  const byId = new Map(rows.map((r) => [r.event_id as string, r]));
  for (const m of got) {
    const row = byId.get(m.eventId);
    expect(row?.msg_key).toBe(m.key);
    expect(Buffer.compare(row!.payload as Buffer, m.value)).toBe(0);
  }
}

function newRelay(db: Knex, metrics = new Registry()): OutboxRelay {
  const relay = new OutboxRelay({ db, kafka: r.kafka, logger, metrics }, { batchSize: 5000 });
  r.defer(() => relay.stop());
  return relay;
}

describe('outbox relay size budget', () => {
  test('a batch larger than the topic accepts in one request is split; every row arrives once, in id order', async () => {
    const { db } = await r.database();
    const t = await smallTopic('relay-split');
    const ids: string[] = [];
    // 300 rows of ~1 KiB, 3 keys: ~300 KiB in one batch, nearly ten times the topic's limit.
    for (let i = 0; i < 300; i++)
      ids.push(await insertRow(db, t, String(SELLER + BigInt(i % 3)), i, 1000));
    const metrics = new Registry();
    const relay = newRelay(db, metrics);
    expect(await relay.drain()).toBe(300);
    const got = await consume(t.topic, 300);
    expect(got.map((m) => m.eventId)).toEqual(ids);
    await expectBytesOfRows(db, got);
    expect(await metrics.metrics()).toMatch(/sts_outbox_publish_seconds_count (1[0-9]|[2-9]\d)\b/);
    const [left] = await db('outbox').whereNull('published_at').count({ n: '*' });
    expect(Number(left?.n)).toBe(0);
  }, 120_000);

  test('a row too large for the broker and a row with broken headers are parked with their reason, their keys held behind them, and every other row published', async () => {
    const { db } = await r.database();
    const t = await smallTopic('relay-park');
    const A = String(SELLER + 1n);
    const B = String(SELLER + 2n);
    const C = String(SELLER + 3n);
    const a1 = await insertRow(db, t, A, 1, 100);
    const a2 = await insertRow(db, t, A, 2, 50_000); // can never fit 32 KiB
    const a3 = await insertRow(db, t, A, 3, 100);
    const b1 = await insertRow(db, t, B, 1, 100);
    const c1 = await insertRow(db, t, C, 1, 100, '{not json');
    const b2 = await insertRow(db, t, B, 2, 100);
    const c2 = await insertRow(db, t, C, 2, 100);
    const b3 = await insertRow(db, t, B, 3, 100);

    const metrics = new Registry();
    const relay = newRelay(db, metrics);
    expect(await relay.drain()).toBe(4);
    // Nothing left to retry: a second pass sends nothing and fails nothing.
    expect(await relay.drain()).toBe(0);
    const got = await consume(t.topic, 4);
    expect(got.map((m) => m.eventId)).toEqual([a1, b1, b2, b3]);
    await expectBytesOfRows(db, got);

    const parked = await db('outbox')
      .whereNotNull('parked_at')
      .whereNull('published_at')
      .orderBy('id')
      .select('event_id', 'park_reason');
    expect(parked.map((p) => p.event_id)).toEqual([a2, a3, c1, c2]);
    expect(parked[0].park_reason).toMatch(/^STS_OUTBOX_ROW_TOO_LARGE: .*accepts at most/);
    expect(parked[1].park_reason).toMatch(/^STS_OUTBOX_HELD_BEHIND: row \d+ /);
    expect(parked[2].park_reason).toMatch(/^STS_OUTBOX_BAD_ROW: .*not JSON/);
    expect(parked[3].park_reason).toMatch(/^STS_OUTBOX_HELD_BEHIND/);
    const text = await metrics.metrics();
    expect(text).toMatch(
      /sts_outbox_parked_total\{topic="[^"]+",code="STS_OUTBOX_ROW_TOO_LARGE"\} 1/,
    );
    expect(text).toMatch(
      /sts_outbox_parked_total\{topic="[^"]+",code="STS_OUTBOX_HELD_BEHIND"\} 2/,
    );
    expect(text).toMatch(/sts_outbox_parked_rows 4/);

    // Recon reports the parked rows as stuck, saying they are parked.
    const findings = await outboxStuck.check({
      db,
      now: new Date(Date.now() + 120_000),
      options: { outboxMaxAgeMs: 60_000 },
    } as unknown as Parameters<typeof outboxStuck.check>[0]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.detail).toMatch(/^4 event\(s\) .* 4 of them parked/);

    // The operator's fix: shrink the row, clear parked_at on the key; the key's rows go in order.
    const smaller = await codec.encode(t.schemaId, { event_id: a2, seq: 2n, pad: 'small' });
    await db('outbox').where('event_id', a2).update({ payload: smaller });
    await db('outbox')
      .where({ topic: t.topic, msg_key: A })
      .whereNull('published_at')
      .update({ parked_at: null, park_reason: null });
    expect(await relay.drain()).toBe(2);
    const after = await consume(t.topic, 6);
    expect(after.map((m) => m.eventId)).toEqual([a1, b1, b2, b3, a2, a3]);
    await expectBytesOfRows(db, after);
  }, 120_000);
});
