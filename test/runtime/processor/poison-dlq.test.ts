import crypto from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { useTestResources } from '../../fixtures/resources';
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

const r = useTestResources();

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

describe('processor DLQ', () => {
  test('poison messages go to the DLQ with their coordinates and processing continues', async () => {
    const s = await effectSetup(r, 3);
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 40);
    const producer = r.kafka.producer();
    await producer.connect();
    const unknownSchema = Buffer.concat([
      Buffer.from([0, 0, 0x0f, 0x42, 0x3f]),
      Buffer.from('body'),
    ]); // id 999999
    const invalid = await s.codec.encode(s.schemaId, {
      effect_key: KEY_BASE + 999n,
      amount_minor: 0n,
      note: 'zero',
    });
    const poison = [
      {
        partition: 0,
        value: crypto.randomBytes(32),
        code: 'STS_DECODE_FAILED',
        headers: { trace: 'abc' },
      },
      { partition: 1, value: unknownSchema, code: 'STS_DECODE_FAILED', headers: {} },
      { partition: 2, value: invalid, code: 'STS_VALIDATION_FAILED', headers: {} },
    ];
    const sent = [];
    for (const p of poison) {
      const [meta] = await producer.send({
        topic: s.topic,
        messages: [{ key: 'poison', value: p.value, partition: p.partition, headers: p.headers }],
      });
      sent.push({ ...p, offset: meta!.baseOffset! });
    }
    await producer.disconnect();
    // Good records after the poison ones too: the partition must keep moving past them.
    const after = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 40, 20);

    const metrics = new Registry();
    await startInProcess(r, effectProcessor(s.topic, s.group), s, {}, metrics);
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));

    expect(await effectSummary(s.db)).toEqual({
      rows: 60,
      total: total + after,
      balance: total + after,
    });
    const dlqEnd = [...(await endOffsets(r.kafka, s.dlq)).values()].reduce((a, b) => a + b, 0n);
    expect(dlqEnd).toBe(3n);
    const letters = await readAll(s.dlq, 3);
    for (const p of sent) {
      const m = letters.find((l) => header(l, DLQ_HEADERS.partition) === String(p.partition));
      expect(m).toBeDefined();
      expect(header(m!, DLQ_HEADERS.code)).toBe(p.code);
      expect(header(m!, DLQ_HEADERS.topic)).toBe(s.topic);
      expect(header(m!, DLQ_HEADERS.offset)).toBe(p.offset);
      expect(header(m!, DLQ_HEADERS.timestamp)).toMatch(/^\d{13}$/);
      expect(header(m!, DLQ_HEADERS.message)).toBeTruthy();
      expect(m!.key?.toString()).toBe('poison');
      expect(Buffer.compare(m!.value!, p.value)).toBe(0);
      for (const [k, v] of Object.entries(p.headers)) expect(header(m!, k)).toBe(v);
    }
    const text = await metrics.metrics();
    expect(text).toMatch(
      /sts_processor_dlq_total\{processor="test-effects",code="STS_DECODE_FAILED"\} 2/,
    );
    expect(text).toMatch(/sts_processor_records_total\{processor="test-effects",outcome="ok"\} 60/);
  });

  test('a record the handler rejects is isolated: it alone goes to the DLQ and its batch-mates commit', async () => {
    const s = await effectSetup(r, 1);
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 30);
    const explode = KEY_BASE + 17n;
    const def = effectProcessor(s.topic, s.group);
    const handle = await startInProcess(
      r,
      {
        ...def,
        async handleBatch(ctx, records) {
          // Not an StsError and not a SQL error: unclassified, hence not retriable.
          if (records.some((x) => x.value.effect_key === explode))
            throw new Error('cannot apply this one');
          await def.handleBatch(ctx, records);
        },
      },
      s,
    );
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));
    await handle.stop();
    const summary = await effectSummary(s.db);
    expect(summary.rows).toBe(29);
    expect(summary.total).toBe(total - amountFor(17));
    const [letter] = await readAll(s.dlq, 1);
    expect(header(letter!, DLQ_HEADERS.code)).toBe('STS_UNEXPECTED');
    expect(letter!.key?.toString()).toBe(explode.toString());
    expect(header(letter!, DLQ_HEADERS.offset)).toBe('17');
  });
});
