import { Registry } from 'prom-client';
import type { Knex } from 'knex';
import { createLogger } from '../../../runtime/logger';
import {
  OutboxRelay,
  EVENT_ID_HEADER,
  pendingQuery,
  type OutboxRelayOptions,
} from '../../../runtime/outbox/outbox-relay';
import { OutboxWriter, outboxTopic, type OutboxMessage } from '../../../runtime/outbox/outbox-writer';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { contenderDb, contenderUrls, expireLease, leaseRow } from '../../fixtures/contenders';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
const registry = new RegistryClient(r.config.schemaRegistryUrl);
const codec = new AvroCodec(registry);
const writer = new OutboxWriter(codec, registry);
const logger = createLogger('outbox-relay-test', process.env.STS_LOG_LEVEL ?? 'warn');

const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'RelayTestEvent',
  namespace: 'sts.test',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'shop_user_id', type: 'long' },
    { name: 'seq', type: 'long' },
  ],
});
const BASE_SELLER = 652024209997000000n;

/** A topic with its `<topic>-value` subject registered (and deleted after the file). */
async function topicWithSchema(prefix: string, partitions: number): Promise<string> {
  const topic = await r.topic(prefix, partitions);
  const subject = `${topic}-value`;
  await registry.register(subject, SCHEMA);
  r.defer(async () => {
    await fetch(`${registry.url}/subjects/${subject}`, { method: 'DELETE' });
    await fetch(`${registry.url}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
  });
  return topic;
}

/** The value of the test's own schema (topicWithSchema). */
interface RelayTestValue {
  event_id: string;
  shop_user_id: bigint;
  seq: bigint;
}

function event(seller: bigint, seq: number, tag = ''): OutboxMessage<RelayTestValue> {
  const eventId = `${tag}${seller}-${seq}`;
  return {
    key: seller.toString(),
    eventId,
    value: { event_id: eventId, shop_user_id: seller, seq: BigInt(seq) },
    headers: { 'sts-test': 'relay' },
  };
}

function newRelay(db: Knex, opts: Partial<OutboxRelayOptions> = {}): OutboxRelay {
  const relay = new OutboxRelay({ db, kafka: r.kafka, logger, metrics: new Registry() }, opts);
  r.defer(() => relay.stop());
  return relay;
}

async function pending(db: Knex): Promise<number> {
  const [row] = await db('outbox').whereNull('published_at').count({ n: '*' });
  return Number(row?.n);
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

interface Seen {
  key: string;
  eventId: string;
  seq: bigint;
}

/** Reads the topic from the beginning until `expected` distinct event ids arrived. */
async function consumeAll(
  topic: string,
  expected: number,
): Promise<{ raw: Seen[]; extraHeader: number }> {
  const consumer = r.kafka.consumer({ groupId: r.group('relay'), maxBytesPerPartition: 4 << 20 });
  const raw: { key: string; eventId: string; value: Buffer; partition: number }[] = [];
  const ids = new Set<string>();
  let extraHeader = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const eventId = m.headers?.[EVENT_ID_HEADER]?.toString() ?? '';
          if (m.headers?.['sts-test']?.toString() === 'relay') extraHeader += 1;
          raw.push({
            key: m.key?.toString() ?? '',
            eventId,
            value: m.value as Buffer,
            partition: batch.partition,
          });
          ids.add(eventId);
        }
      },
    });
    await waitFor(`${expected} events on ${topic}`, () => ids.size >= expected, 90_000);
  } finally {
    await consumer.disconnect();
  }
  const decoded: Seen[] = [];
  for (const m of raw) {
    const { value } = await codec.decode<{ event_id: string; shop_user_id: bigint; seq: bigint }>(
      m.value,
    );
    expect(value.event_id).toBe(m.eventId);
    expect(value.shop_user_id.toString()).toBe(m.key);
    decoded.push({ key: m.key, eventId: m.eventId, seq: value.seq });
  }
  return { raw: decoded, extraHeader };
}

/** Dedups by event id (first copy wins) and asserts each key's sequence strictly increases. */
function assertOrderedOnce(raw: Seen[], expectedIds: Set<string>) {
  const seen = new Set<string>();
  const lastSeq = new Map<string, bigint>();
  for (const m of raw) {
    if (seen.has(m.eventId)) continue;
    seen.add(m.eventId);
    const prev = lastSeq.get(m.key);
    if (prev !== undefined && m.seq <= prev) {
      throw new Error(`key ${m.key}: seq ${m.seq} arrived after ${prev}`);
    }
    lastSeq.set(m.key, m.seq);
  }
  expect(seen.size).toBe(expectedIds.size);
  for (const id of expectedIds) if (!seen.has(id)) throw new Error(`event ${id} never arrived`);
  return { unique: seen.size, duplicates: raw.length - seen.size };
}

describe('OutboxRelay', () => {
  test('publishes 100k outbox rows in order per key with no loss, and a consumer deduplicating by event id sees each event once', async () => {
    const { db } = await r.database();
    const topic = await topicWithSchema('relay-bulk', 6);
    const total = 100_000;
    const keys = 1000;
    const expected = new Set<string>();
    const writeStart = Date.now();
    for (let i = 0; i < total; i += 2000) {
      const batch: Array<OutboxMessage<RelayTestValue>> = [];
      for (let j = i; j < i + 2000; j++)
        batch.push(event(BASE_SELLER + BigInt(j % keys), Math.floor(j / keys)));
      for (const m of batch) expected.add(m.eventId);
      await db.transaction((trx) => writer.add(trx, outboxTopic<RelayTestValue>(topic), batch));
    }
    const writeMs = Date.now() - writeStart;

    const relay = newRelay(db, { batchSize: 2000, pollIntervalMs: 50 });
    const started = Date.now();
    await relay.start();
    await waitFor('all rows published', () => relay.published >= total, 90_000);
    const relayMs = Date.now() - started;
    await relay.stop();
    expect(relay.published).toBe(total);
    expect(await pending(db)).toBe(0);

    const { raw, extraHeader } = await consumeAll(topic, total);
    const { unique, duplicates } = assertOrderedOnce(raw, expected);
    expect(unique).toBe(total);
    expect(extraHeader).toBe(raw.length);
    logger.warn(
      { writeMs, relayMs, rowsPerSec: Math.round((total * 1000) / relayMs), duplicates },
      'outbox relay bulk figures',
    );
  });

  test('does not skip rows that commit out of id order', async () => {
    const { db } = await r.database();
    const topic = await topicWithSchema('relay-order', 3);
    const relay = newRelay(db);
    const seller = BASE_SELLER + 7n;

    const trxA = await db.transaction();
    await writer.add(trxA, outboxTopic<RelayTestValue>(topic), [event(seller, 1, 'a-')]);
    const trxB = await db.transaction();
    await writer.add(trxB, outboxTopic<RelayTestValue>(topic), [event(seller, 2, 'b-')]);
    await trxB.commit();

    expect(await relay.runOnce()).toBe(1);
    await trxA.commit();
    const rows = await db('outbox').select('id', 'event_id').orderBy('id');
    expect(rows.map((x) => x.event_id)).toEqual([`a-${seller}-1`, `b-${seller}-2`]);
    expect(await pending(db)).toBe(1);
    expect(await relay.runOnce()).toBe(1);
    expect(await pending(db)).toBe(0);
    expect(await relay.runOnce()).toBe(0);

    const { raw } = await consumeAll(topic, 2);
    expect(raw.map((m) => m.eventId)).toEqual([`b-${seller}-2`, `a-${seller}-1`]);
  });

  test('two relays at once keep per-key order, and the standby takes over when the active one loses its lease', async () => {
    const { db, url } = await r.database();
    const topic = await topicWithSchema('relay-pair', 6);
    const opts = { batchSize: 40, pollIntervalMs: 20, lockRetryMs: 200 };
    const [relayA, relayB] = contenderUrls(url).map((u) => newRelay(contenderDb(r, u), opts));
    const relays = [relayA!, relayB!] as const;
    const expected = new Set<string>();

    let inserting = true;
    const keys = 50;
    const inserter = (async () => {
      for (let n = 0; inserting; n++) {
        const batch: Array<OutboxMessage<RelayTestValue>> = [];
        for (let k = 0; k < keys; k++) batch.push(event(BASE_SELLER + BigInt(k), n));
        await db.transaction((trx) => writer.add(trx, outboxTopic<RelayTestValue>(topic), batch));
        for (const m of batch) expected.add(m.eventId);
        await new Promise((res) => setTimeout(res, 15));
      }
    })();

    await Promise.all(relays.map((x) => x.start()));
    await waitFor('one active relay', () => relays.filter((x) => x.isActive).length === 1);
    const first = relays.find((x) => x.isActive)!;
    const second = relays.find((x) => x !== first)!;
    await waitFor('first relay publishing', () => first.published > 200);
    expect(second.published).toBe(0);

    // The active relay's lease runs out (it stalled past its TTL: a GC pause, a frozen VM, a cut
    // network): the standby takes the role with a higher token, and the stalled relay's next
    // renewal, check or fenced mark finds it gone.
    const firstToken = first.leaseToken!;
    await expireLease(db, 'sts.outbox-relay');
    await waitFor('stalled relay notices', () => !first.isActive);
    await waitFor('standby takes over', () => second.isActive);
    expect(second.leaseToken).toBeGreaterThan(firstToken);
    expect((await leaseRow(db, 'sts.outbox-relay'))!.token).toBe(second.leaseToken);
    await waitFor('standby publishing', () => second.published > 200);
    // By now any batch the stalled relay had in flight is done; from here on it must stay silent.
    const firstFrozen = first.published;
    await waitFor('standby keeps publishing', () => second.published > 400);
    expect(first.isActive).toBe(false);
    expect(first.published).toBe(firstFrozen);

    // A graceful stop hands the role back to the first relay, now the standby.
    await second.stop();
    await waitFor('first relay active again', () => first.isActive);
    const secondPublished = second.published;
    await waitFor('first relay publishing again', () => first.published > firstFrozen + 200);

    inserting = false;
    await inserter;
    await waitFor('outbox drained', async () => (await pending(db)) === 0);
    await first.stop();

    const { raw } = await consumeAll(topic, expected.size);
    const { duplicates } = assertOrderedOnce(raw, expected);
    expect(first.published + secondPublished).toBe(raw.length);
    logger.warn({ events: expected.size, duplicates }, 'two-relay figures');
  });

  test('prunes published rows after retention', async () => {
    const { db } = await r.database();
    const topic = await topicWithSchema('relay-prune', 3);
    const relay = newRelay(db, { retentionMs: 7 * 24 * 3600 * 1000, pruneBatchSize: 7 });
    const msgs = Array.from({ length: 30 }, (_, i) => event(BASE_SELLER + BigInt(i % 3), i));
    await db.transaction((trx) => writer.add(trx, outboxTopic<RelayTestValue>(topic), msgs));
    expect(await relay.runOnce()).toBe(30);
    await db.transaction((trx) => writer.add(trx, outboxTopic<RelayTestValue>(topic), [event(BASE_SELLER, 100)]));
    // 20 rows published 8 days ago, 10 published just now, 1 never published (and old).
    const old = (await db('outbox').select('id').orderBy('id').limit(20)).map(
      (x) => x.id as string,
    );
    await db('outbox')
      .whereIn('id', old)
      .update({ published_at: db.raw('NOW(3) - INTERVAL 8 DAY') });
    await db('outbox')
      .whereNull('published_at')
      .update({ created_at: db.raw('NOW(3) - INTERVAL 30 DAY') });

    expect(await relay.prune()).toBe(20);
    expect(Number((await db('outbox').count({ n: '*' }))[0]?.n)).toBe(11);
    expect(await pending(db)).toBe(1);
    expect(await relay.prune()).toBe(0);
  });

  test('the pending-rows query is served by ix_outbox_pending', async () => {
    const { db } = await r.database();
    const [plan] = (await db.raw(`EXPLAIN ${pendingQuery(db, 500).toString()}`)) as [
      Array<{ key: string | null }>,
    ];
    expect(plan[0]?.key).toBe('ix_outbox_pending');
    // Also with a batch of ids still being marked excluded (MariaDB turns the long NOT IN list
    // into a lookup table, which must not cost it the index).
    const inFlight = Array.from({ length: 5000 }, (_, i) => String(BASE_SELLER + BigInt(i)));
    const [withInFlight] = (await db.raw(
      `EXPLAIN ${pendingQuery(db, 500, inFlight).toString()}`,
    )) as [Array<{ key: string | null }>];
    expect(withInFlight[0]?.key).toBe('ix_outbox_pending');
  });

  test('drain pipelines batches without reading a batch twice, and a failed mark re-sends that batch and the next in id order', async () => {
    const { db } = await r.database();
    const topic = await topicWithSchema('relay-pipeline', 3);
    const seller = BASE_SELLER + 11n;
    const msgs = Array.from({ length: 35 }, (_, i) => event(seller, i));
    await db.transaction((trx) => writer.add(trx, outboxTopic<RelayTestValue>(topic), msgs));

    // The first mark fails after a pause, while the second batch is being produced: that batch
    // was sent but must stay unmarked, or the failed batch would be re-sent after a newer one.
    let marks = 0;
    // Marks run in a transaction (fenced by the relay's lease), so the fault is injected into the
    // raw queries of transactions as well as the pool's.
    const failingFirstMark = <T extends Knex>(k: T): T =>
      new Proxy(k, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (prop === 'transaction')
            return (fn: unknown, ...rest: unknown[]) =>
              typeof fn === 'function'
                ? target.transaction(
                    (trx: Knex.Transaction) =>
                      (fn as (t: Knex.Transaction) => Promise<unknown>)(failingFirstMark(trx)),
                    rest[0] as Knex.TransactionConfig | undefined,
                  )
                : Reflect.apply(value as (...a: unknown[]) => unknown, target, [fn, ...rest]);
          if (prop !== 'raw') return value;
          return (sql: string, ...rest: unknown[]) => {
            if (/^UPDATE outbox SET published_at/.test(sql) && ++marks === 1) {
              return new Promise((_, reject) =>
                setTimeout(() => reject(new Error('mark lost')), 300),
              );
            }
            return target.raw(sql, ...(rest as [Knex.RawBinding[]]));
          };
        },
      });
    const faulty = failingFirstMark(db);
    const broken = newRelay(faulty, { batchSize: 10 });
    await expect(broken.drain()).rejects.toThrow('mark lost');
    expect(await pending(db)).toBe(35);
    await broken.stop();

    const relay = newRelay(db, { batchSize: 10 });
    expect(await relay.drain()).toBe(35);
    expect(relay.published).toBe(35);
    expect(await pending(db)).toBe(0);

    const { raw } = await consumeAll(topic, 35);
    const seqs = raw.map((m) => Number(m.seq));
    // Sent once each before the failure (batches 1 and 2), then everything again in id order.
    expect(seqs).toEqual([
      ...Array.from({ length: 20 }, (_, i) => i),
      ...Array.from({ length: 35 }, (_, i) => i),
    ]);
    assertOrderedOnce(raw, new Set(msgs.map((m) => m.eventId)));
  });

  test('rejects contradictory options with a message saying how to fix them', () => {
    expect(
      () => new OutboxRelay({ db: {} as Knex, kafka: r.kafka }, { errorBackoffMs: 20_000 }),
    ).toThrow(/errorBackoffMs must not exceed maxBackoffMs/);
    expect(() => new OutboxRelay({ db: {} as Knex, kafka: r.kafka }, { batchSize: 0 })).toThrow(
      /batchSize/,
    );
  });
});
