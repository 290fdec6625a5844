import type { KafkaMessage } from 'kafkajs';
import type { DeadLetterView } from '../../../services/dlq/dlq-letters';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { dlqTopic, valueSubject } from '../../../runtime/topology/types';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { endOffsets, offsetsAtEnd, waitFor } from '../../fixtures/processor-harness';
import { startIngestion, uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';

/**
 * Hostile bytes on a real processor's input, end to end: crafted upload chunks (2^31 records in
 * a dozen bytes, a 2^62-byte string, an 11-byte varint, a 700 KB body whose string claims more
 * than is left) are produced onto the upload-ingestion topic ahead of a real upload. The real
 * processor dead-letters each with its reason and original coordinates, applies every chunk of
 * the upload after them, and commits past everything; `sts dlq list` then shows each letter with
 * its reason and coordinates, a bounded view of each however large it is.
 */
const r = useTestResources();

function varint(n: bigint): Buffer {
  let u = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n;
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return Buffer.from(out);
}

async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = r.kafka.consumer({ groupId: r.group('hostile-dlq-reader'), maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  await waitFor(`${expected} DLQ messages`, async () => got.length >= expected, 30_000);
  await consumer.disconnect();
  return got;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

test('crafted upload chunks are dead-lettered with their reasons and coordinates; the upload behind them applies and the offsets move past', async () => {
  const s = await uploadSetup(r, 4);
  const schemaId = await s.registry.latestId(valueSubject(s.topic));
  const wire = Buffer.from([0, 0, 0, 0, 0]);
  wire.writeUInt32BE(schemaId, 1);
  const upload = varint(652024209997893632n);
  const big = Buffer.concat([wire, upload, varint(1n), varint(1n), varint(800_000n), Buffer.alloc(700_000, 0x61)]);
  const hostile = [
    { partition: 0, value: Buffer.concat([wire, upload, varint(1n), varint(0n), varint(2n ** 31n)]), reason: 'rows: array block at byte 11 claims 2147483648 items of at least 3 byte(s) each, 0 bytes left' },
    { partition: 1, value: Buffer.concat([wire, upload, varint(1n), varint(0n), varint(1n), varint(1n), varint(2n ** 62n)]), reason: 'rows[0].raw: string at byte 13 claims 4611686018427387904 bytes, 0 left' },
    { partition: 2, value: Buffer.concat([wire, Buffer.from('ffffffffffffffffffff01', 'hex')]), reason: 'upload_id: long at byte 0 is a varint longer than 10 bytes' },
    { partition: 3, value: big, reason: 'columns[0]: string at byte 11 claims 800000 bytes, 700000 left' },
  ];
  const producer = r.kafka.producer();
  await producer.connect();
  r.defer(() => producer.disconnect());
  const sent: Array<(typeof hostile)[number] & { offset: string }> = [];
  for (const h of hostile) {
    const [meta] = await producer.send({ topic: s.topic, acks: -1, messages: [{ key: 'hostile', value: h.value, partition: h.partition, headers: { origin: 'fuzzer' } }] });
    sent.push({ ...h, offset: meta!.baseOffset! });
  }

  // A real upload behind them: its chunks land on the same partitions, after the hostile ones.
  const rows = Array.from({ length: 40 }, (_, i) => `hl-${i},${652024209997893632n + BigInt(i)},SG,SGD,${i + 1}.25,ADJUSTMENT,row ${i}`);
  const csv = Buffer.from(`external_ref,shop_user_id,region,currency,amount,item_type,memo\n${rows.join('\n')}\n`);
  const intake = await uploadInto(s, csv, {}, { maxChunkRows: 5 });
  await startIngestion(r, s);
  const status = await waitForUpload(s, intake.uploadId);
  expect({ status: status.status, total: status.totalRows, accepted: status.acceptedRows, rejected: status.rejectedRows }).toEqual({
    status: 'COMPLETED',
    total: 40n,
    accepted: 40n,
    rejected: 0n,
  });
  const items = (await s.db('billing_item').where({ source: 'UPLOAD' }).whereIn('source_ref', rows.map((_, i) => `hl-${i}`)).select('source_ref', 'amount_minor')) as Array<{ source_ref: string; amount_minor: string }>;
  expect(items).toHaveLength(40);
  expect(items.reduce((sum, i) => sum + BigInt(i.amount_minor), 0n)).toBe(rows.reduce((sum, _, i) => sum + BigInt(i + 1) * 100n + 25n, 0n));
  await waitFor('offsets past every record', () => offsetsAtEnd(r.kafka, s.group, s.topic));

  const dlq = dlqTopic(s.topic);
  expect([...(await endOffsets(r.kafka, dlq)).values()].reduce((a, b) => a + b, 0n)).toBe(4n);
  const letters = await readAll(dlq, 4);
  for (const h of sent) {
    const m = letters.find((l) => header(l, DLQ_HEADERS.partition) === String(h.partition))!;
    expect(header(m, DLQ_HEADERS.code)).toBe('STS_DECODE_FAILED');
    expect(header(m, DLQ_HEADERS.message)).toBe(`cannot decode message: Avro body does not match schema ${schemaId}: ${h.reason}`);
    expect(header(m, DLQ_HEADERS.topic)).toBe(s.topic);
    expect(header(m, DLQ_HEADERS.offset)).toBe(h.offset);
    expect(header(m, 'origin')).toBe('fuzzer');
    expect(Buffer.compare(m.value!, h.value)).toBe(0);
  }

  // The listing decodes each letter through the same bounded codec and caps what it returns.
  const env = { STS_MYSQL_URL: s.url };
  const listed = await runCli(['dlq', 'list', '--topic', s.topic, '--json'], env);
  expect(listed.stderr).toBe('');
  expect(listed.code).toBe(0);
  const views = JSON.parse(listed.stdout) as Array<DeadLetterView & { original: { offset: string } }>;
  expect(views).toHaveLength(4);
  for (const h of sent) {
    const v = views.find((x) => x.original.partition === h.partition)!;
    expect(v.original).toMatchObject({ topic: s.topic, offset: h.offset });
    expect(v.error).toEqual({ code: 'STS_DECODE_FAILED', message: `cannot decode message: Avro body does not match schema ${schemaId}: ${h.reason}` });
    expect(v.payload).toMatchObject({
      format: 'base64',
      bytes: h.value.length,
      truncated: h.value.length > 1024,
      error: { code: 'STS_DECODE_FAILED', message: expect.stringContaining(h.reason) },
    });
    expect(JSON.stringify(v).length).toBeLessThan(4096);
  }
  const text = await runCli(['dlq', 'list', '--topic', s.topic], env);
  expect(text.code).toBe(0);
  // Four letters, the 700 KB one among them, in a few KiB of text.
  expect(text.stdout.length).toBeLessThan(16 * 1024);
  expect(text.stdout).toContain(`from     ${s.topic}/3/${sent[3]!.offset}`);
  expect(text.stdout).toContain(`(first 1024 of ${big.length} bytes)`);
});
