import type { KafkaMessage } from 'kafkajs';
import type { UploadChunk } from '../../../contracts/upload-chunk';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { dlqTopic, valueSubject } from '../../../runtime/topology/types';
import { useTestResources } from '../../fixtures/resources';
import { waitFor } from '../../fixtures/processor-harness';
import { startIngestion, uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';

/**
 * A chunk that breaks the chunk contract (written by something other than the intake) is
 * dead-lettered whole with the reason and its coordinates; nothing of it is booked, and the
 * uploads around it load as usual.
 */
const r = useTestResources();

test('a chunk with a column named twice goes to the DLQ with STS_VALIDATION_FAILED; a real upload after it completes', async () => {
  const s = await uploadSetup(r, 1);
  await startIngestion(r, s);
  const forged: UploadChunk = {
    upload_id: 652024209997899999n,
    chunk_index: 0,
    columns: ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type', 'amount'],
    rows: [{ row_number: 1n, raw: 'forged-1,652024209997893632,SG,SGD,1.00,ADJUSTMENT,9999.00', problem: null }],
  };
  const producer = r.kafka.producer();
  await producer.connect();
  const value = await s.codec.encode(await s.registry.latestId(valueSubject(s.topic)), forged);
  const [meta] = await producer.send({ topic: s.topic, messages: [{ key: 'forged:0', value, partition: 0 }] });
  await producer.disconnect();

  const intake = await uploadInto(s, Buffer.from('external_ref,shop_user_id,region,currency,amount,item_type\nafter-1,652024209997893632,SG,SGD,2.50,ADJUSTMENT\n'));
  const status = await waitForUpload(s, intake.uploadId);
  expect({ status: status.status, accepted: status.acceptedRows, rejected: status.rejectedRows }).toEqual({ status: 'COMPLETED', accepted: 1n, rejected: 0n });

  const letters: KafkaMessage[] = [];
  const consumer = r.kafka.consumer({ groupId: r.group('chunk-dlq') });
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic(s.topic), fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void letters.push(message) });
  await waitFor('the dead letter', async () => letters.length >= 1, 30_000);
  await consumer.disconnect();
  const header = (name: string) => letters[0]!.headers?.[name]?.toString();
  expect(letters).toHaveLength(1);
  expect(header(DLQ_HEADERS.code)).toBe('STS_VALIDATION_FAILED');
  expect(header(DLQ_HEADERS.message)).toMatch(/column amount appears twice in the header/);
  expect([header(DLQ_HEADERS.topic), header(DLQ_HEADERS.partition), header(DLQ_HEADERS.offset)]).toEqual([s.topic, '0', meta!.baseOffset]);

  const booked = (await s.db('billing_item').where({ source: 'UPLOAD' }).select('source_ref')) as Array<{ source_ref: string }>;
  expect(booked.map((b) => b.source_ref)).toEqual(['after-1']);
});
