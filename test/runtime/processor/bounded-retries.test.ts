import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { withDatabase } from '../../../runtime/config';
import { createDb } from '../../../runtime/db/knex';
import { ConcurrentWriteError } from '../../../runtime/billing/billing-errors';
import { ensureTopicList } from '../../../runtime/kafka/topic-admin';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { useTestResources } from '../../fixtures/resources';
import { TcpProxy } from '../../fixtures/tcp-proxy';
import {
  amountFor,
  effectProcessor,
  effectSummary,
  KEY_BASE,
  produceEffects,
} from '../../fixtures/effect-processor';
import {
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';
import { sampleUntil, testMonitor } from '../../fixtures/lag-harness';

/**
 * "Retriable" is bounded: a record that fails with a retriable error for a reason that never
 * heals (the ledger's STS_CONCURRENT_WRITE when the database and the code disagree on a key) is
 * dead-lettered once its attempts are spent while the database answers; a real outage, where the
 * database probe fails too, dead-letters nothing and the records are applied once it is back.
 */
const r = useTestResources();
const FAST = { retryMaxAttempts: 3, retryInitialDelayMs: 50, retryMaxDelayMs: 200 };

async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = r.kafka.consumer({ groupId: r.group('dlq-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  await waitFor(`${expected} DLQ messages`, async () => got.length >= expected, 30_000);
  await consumer.disconnect();
  return got;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();
const neverHeals = () => new ConcurrentWriteError('the unique key and the comparison disagree');

describe('bounded retries', () => {
  test('a record failing retriably forever while the database answers is dead-lettered as STS_RETRIES_EXHAUSTED; its neighbours apply and the offset moves past it', async () => {
    const s = await effectSetup(r, 1);
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 30);
    const stuck = KEY_BASE + 17n;
    const def = effectProcessor(s.topic, s.group);
    const metrics = new Registry();
    const handle = await startInProcess(
      r,
      {
        ...def,
        async handleBatch(ctx, records) {
          if (records.some((x) => x.value.effect_key === stuck)) throw neverHeals();
          await def.handleBatch(ctx, records);
        },
      },
      s,
      FAST,
      metrics,
    );
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));
    await handle.stop();

    const summary = await effectSummary(s.db);
    expect(summary).toEqual({
      rows: 29,
      total: total - amountFor(17),
      balance: total - amountFor(17),
    });
    const [letter, ...more] = await readAll(s.dlq, 1);
    expect(more).toEqual([]);
    expect(header(letter!, DLQ_HEADERS.code)).toBe('STS_RETRIES_EXHAUSTED');
    expect(header(letter!, DLQ_HEADERS.causeCode)).toBe('STS_CONCURRENT_WRITE');
    expect(header(letter!, DLQ_HEADERS.message)).toMatch(
      /gave up after 3 attempts .*STS_CONCURRENT_WRITE: the unique key and the comparison disagree/,
    );
    expect(header(letter!, DLQ_HEADERS.offset)).toBe('17');
    expect(letter!.key?.toString()).toBe(stuck.toString());
    const text = await metrics.metrics();
    expect(text).toMatch(
      /sts_processor_retries_exhausted_total\{processor="test-effects",code="STS_CONCURRENT_WRITE",outcome="dead_lettered"\} 1/,
    );
    expect(text).toMatch(/sts_processor_stalled_partitions\{processor="test-effects"\} 0/);
  }, 60_000);

  test('records failing retriably because the database is unreachable are never dead-lettered: the partition stalls (metric and lag STALLED), then everything applies once the database is back', async () => {
    const s = await effectSetup(r, 1);
    const first = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 10);

    const mysql = new URL(r.config.mysqlUrl);
    const proxy = new TcpProxy(mysql.hostname, Number(mysql.port || 3306));
    const port = await proxy.start();
    r.defer(() => proxy.close());
    const viaProxy = new URL(s.url);
    viaProxy.port = String(port);
    const db = createDb(withDatabase(viaProxy.toString(), new URL(s.url).pathname.slice(1)), {
      pool: 2,
    });
    r.defer(() => db.destroy());

    const metrics = new Registry();
    const handle = await startInProcess(
      r,
      effectProcessor(s.topic, s.group),
      { ...s, db },
      { ...FAST, dependencyProbeTimeoutMs: 500 },
      metrics,
    );
    await waitFor('the first records', () => offsetsAtEnd(r.kafka, s.group, s.topic));
    await proxy.cut();
    const rest = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 10, 20);
    const total = first + rest;

    // Well past the bound, several times over: the probe fails, so nothing may be dead-lettered.
    await waitFor(
      'the outage verdict',
      async () =>
        /sts_processor_retries_exhausted_total\{[^}]*outcome="outage"\} ([3-9]|\d\d)/.test(
          await metrics.metrics(),
        ),
      60_000,
    );
    expect(await metrics.metrics()).toMatch(
      /sts_processor_stalled_partitions\{processor="test-effects"\} 1/,
    );
    // The lag monitor sees the partition held: members present, lag > 0, offset standing still.
    const monitor = testMonitor(r, [{ group: s.group, topic: s.topic }], {
      intervalMs: 250,
      windowMs: 60_000,
      stallAfterMs: 2000,
      minSamples: 3,
      minWindowMs: 1000,
    });
    const stalled = await sampleUntil(monitor, s.group, (g) => g.status === 'STALLED', 'STALLED');
    expect(stalled.lag).toBe(20n);
    expect(stalled.members).toBe(1);
    expect((await effectSummary(s.db)).rows).toBe(10);
    expect([...(await endOffsets(r.kafka, s.dlq)).values()]).toEqual([0n]);

    await proxy.restore();
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic), 60_000);
    await handle.stop();
    expect(await effectSummary(s.db)).toEqual({ rows: 30, total, balance: total });
    expect([...(await endOffsets(r.kafka, s.dlq)).values()]).toEqual([0n]);
    const text = await metrics.metrics();
    expect(text).not.toMatch(/outcome="dead_lettered"/);
    expect(text).toMatch(/sts_processor_stalled_partitions\{processor="test-effects"\} 0/);
  }, 120_000);

  test('a dead letter that cannot be published (its DLQ topic is missing) is escalated, not skipped: the offset stays before it until the DLQ exists', async () => {
    const s = await effectSetup(r, 1);
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [s.dlq] });
    await admin.disconnect();
    await waitFor('the DLQ topic gone', async () => {
      const a = r.kafka.admin();
      await a.connect();
      try {
        return !(await a.listTopics()).includes(s.dlq);
      } finally {
        await a.disconnect();
      }
    });
    const before = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 5);
    const producer = r.kafka.producer();
    await producer.connect();
    const poison = await s.codec.encode(s.schemaId, {
      effect_key: KEY_BASE + 999n,
      amount_minor: 0n,
      note: 'zero',
    });
    await producer.send({ topic: s.topic, acks: -1, messages: [{ key: 'poison', value: poison }] });
    await producer.disconnect();
    const after = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 5, 5);

    const metrics = new Registry();
    const handle = await startInProcess(r, effectProcessor(s.topic, s.group), s, FAST, metrics);
    await waitFor(
      'the escalation',
      async () =>
        /sts_processor_retries_exhausted_total\{[^}]*code="STS_DLQ_PUBLISH_FAILED",outcome="escalated"\} [1-9]/.test(
          await metrics.metrics(),
        ),
      60_000,
    );
    expect(await metrics.metrics()).toMatch(
      /sts_processor_stalled_partitions\{processor="test-effects"\} 1/,
    );
    // The sub-batch holding the poison record is not committed while its letter is unwritten.
    expect(await offsetsAtEnd(r.kafka, s.group, s.topic)).toBe(false);

    await ensureTopicList(r.kafka, [{ topic: s.dlq, numPartitions: 1 }]);
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic), 60_000);
    await handle.stop();
    expect(await effectSummary(s.db)).toEqual({
      rows: 10,
      total: before + after,
      balance: before + after,
    });
    const [letter] = await readAll(s.dlq, 1);
    expect(header(letter!, DLQ_HEADERS.code)).toBe('STS_VALIDATION_FAILED');
    expect(await metrics.metrics()).toMatch(
      /sts_processor_stalled_partitions\{processor="test-effects"\} 0/,
    );
  }, 120_000);
});
