import type { Knex } from 'knex';
import { OutboxRelay, pendingQuery } from '../../../runtime/outbox/outbox-relay';
import { outboxTopic, type OutboxMessage } from '../../../runtime/outbox/outbox-writer';
import { serverContest } from '../../fixtures/contenders';
import { twoRelaysHandOver } from '../../fixtures/relay-scenarios';
import {
  BASE_SELLER,
  assertOrderedOnce,
  pendingRows as pending,
  relayEvent as event,
  relayKit,
  waitUntil as waitFor,
  type RelayTestValue,
} from '../../fixtures/relay-kit';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
const kit = relayKit(r);
const { writer, logger, topicWithSchema, newRelay, consumeAll } = kit;

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

  test('two relays at once keep per-key order, and the standby takes over when the active one loses its lease, its marks refused', async () => {
    await twoRelaysHandOver(await serverContest(r), kit, ['STS_LOCK_UNAVAILABLE']);
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
