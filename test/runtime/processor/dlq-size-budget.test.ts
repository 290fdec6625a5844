import { ConfigResourceTypes, type KafkaMessage } from 'kafkajs';
import { DLQ_HEADERS, fitLetter, letterBytes } from '../../../runtime/processor/dlq-publisher';
import { replayDeadLetters } from '../../../services/dlq/dlq-replay';
import { useTestResources } from '../../fixtures/resources';
import {
  effectProcessor,
  effectSummary,
  KEY_BASE,
  produceEffects,
} from '../../fixtures/effect-processor';
import { effectSetup, offsetsAtEnd, startInProcess, waitFor } from '../../fixtures/processor-harness';

/**
 * Dead letters always fit the DLQ topic: the publisher copies the original key, value and headers
 * and adds its own, so a record near the source topic's limit (or a DLQ topic with a smaller
 * max.message.bytes) would be refused as MESSAGE_TOO_LARGE on every retry and hold its partition.
 */
const r = useTestResources();
const DLQ_MAX = 65_536;

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
const size = (m: KafkaMessage) =>
  letterBytes({ key: m.key, value: m.value, headers: m.headers ?? {} });

describe('DLQ size budget', () => {
  test('letters too large for the DLQ topic are cut to fit, keep their coordinates and say what was dropped; the partition moves on', async () => {
    const s = await effectSetup(r, 1);
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: s.dlq,
          configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX) }],
        },
      ],
    });
    await admin.disconnect();

    const before = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 5);
    const producer = r.kafka.producer();
    await producer.connect();
    // Amount 0 fails validation: each of these is dead-lettered, and none fits 64 KiB whole.
    const bigValue = await s.codec.encode(s.schemaId, {
      effect_key: KEY_BASE + 900n,
      amount_minor: 0n,
      note: 'v'.repeat(200_000),
    });
    const smallValue = await s.codec.encode(s.schemaId, {
      effect_key: KEY_BASE + 901n,
      amount_minor: 0n,
      note: 'small',
    });
    const [bigMeta] = await producer.send({
      topic: s.topic,
      acks: -1,
      messages: [{ key: 'big-value', value: bigValue, headers: { trace: 't1' } }],
    });
    const [hdrMeta] = await producer.send({
      topic: s.topic,
      acks: -1,
      messages: [
        { key: 'big-headers', value: smallValue, headers: { trace: 'h'.repeat(100_000) } },
      ],
    });
    await producer.disconnect();
    const after = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 5, 5);

    const handle = await startInProcess(r, effectProcessor(s.topic, s.group), s, {
      retryMaxAttempts: 3,
      retryInitialDelayMs: 50,
      retryMaxDelayMs: 200,
    });
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic), 60_000);
    await handle.stop();
    expect(await effectSummary(s.db)).toEqual({
      rows: 10,
      total: before + after,
      balance: before + after,
    });

    const letters = await readAll(s.dlq, 2);
    expect(letters).toHaveLength(2);
    for (const l of letters) {
      expect(size(l)).toBeLessThanOrEqual(DLQ_MAX);
      expect(header(l, DLQ_HEADERS.code)).toBe('STS_VALIDATION_FAILED');
      expect(header(l, DLQ_HEADERS.topic)).toBe(s.topic);
      expect(header(l, DLQ_HEADERS.partition)).toBe('0');
    }
    const big = letters.find((l) => l.key?.toString() === 'big-value')!;
    expect(header(big, DLQ_HEADERS.offset)).toBe(bigMeta!.baseOffset);
    expect(big.value).toBeNull();
    expect(header(big, 'trace')).toBe('t1');
    expect(header(big, DLQ_HEADERS.truncated)).toMatch(
      /^dropped value: the letter of \d+ bytes exceeds the DLQ limit/,
    );

    const hdr = letters.find((l) => l.key?.toString() === 'big-headers')!;
    expect(header(hdr, DLQ_HEADERS.offset)).toBe(hdrMeta!.baseOffset);
    // The value is what a replay needs: the oversized trace header goes first, the value stays.
    expect(Buffer.compare(hdr.value!, smallValue)).toBe(0);
    expect(header(hdr, 'trace')).toBeUndefined();
    expect(header(hdr, DLQ_HEADERS.truncated)).toMatch(/^dropped headers:/);

    // A cut letter is no longer the input: replay refuses both, publishes nothing, and names where
    // the original still is.
    const replay = await replayDeadLetters(
      { kafka: r.kafka, db: s.db },
      { dlqTopic: s.dlq, all: true, actor: 'test' },
    );
    expect(replay.replayed).toEqual([]);
    expect(replay.skipped).toHaveLength(2);
    const cut =
      /was cut to fit the DLQ \(dropped (value|headers)[^)]*\); re-produce the original from (\S+)\/0 at offset (\d+)$/;
    const named = replay.skipped.map((k) => {
      const m = cut.exec(k.reason);
      expect(m).not.toBeNull();
      expect(m![2]).toBe(s.topic);
      return m![3];
    });
    expect(named.sort()).toEqual([bigMeta!.baseOffset, hdrMeta!.baseOffset].sort());
    expect(String((await s.db('dlq_replay').count({ n: '*' }).first())?.n)).toBe('0');
  }, 120_000);

  test('fitLetter: a huge key and error text still end within budget with the coordinates', () => {
    const letter = {
      key: Buffer.alloc(50_000, 1),
      value: Buffer.alloc(50_000, 2),
      headers: {
        [DLQ_HEADERS.code]: 'STS_X',
        [DLQ_HEADERS.topic]: 't',
        [DLQ_HEADERS.partition]: '3',
        [DLQ_HEADERS.offset]: '652024209997893632',
        other: 'x'.repeat(50_000),
      },
    };
    const fitted = fitLetter(letter, 4096);
    expect(letterBytes(fitted)).toBeLessThanOrEqual(4096);
    expect(fitted.key).toBeNull();
    expect(fitted.value).toBeNull();
    expect(fitted.headers[DLQ_HEADERS.offset]).toBe('652024209997893632');
    expect(fitted.headers[DLQ_HEADERS.truncated]).toMatch(/^dropped value,headers,key:/);
  });
});
