import { cancelUpload } from '../../../services/uploads/upload-cancel';
import { readUploadStatus } from '../../../services/uploads/upload-status';
import { useTestResources } from '../../fixtures/resources';
import { writeUploadCsv } from '../../fixtures/upload-files';
import { startIngestion, uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';
import { offsetsAtEnd, waitFor } from '../../fixtures/processor-harness';
import path from 'node:path';

const r = useTestResources();

test('cancel stops the chunks not yet applied; committed chunks stay and every row is accounted for', async () => {
  const s = await uploadSetup(r, 2);
  const file = path.join(s.dataDir, 'cancel.csv');
  const expected = await writeUploadCsv(file, { rows: 20_000, sellers: 50, refPrefix: 'cancel' });
  const intake = await uploadInto(s, file, {}, { maxChunkRows: 500 });
  expect(intake.chunkCount).toBeGreaterThanOrEqual(40);

  // Apply some chunks, then cancel while the rest wait: stop the processor first so the split is exact.
  const handle = await startIngestion(r, s);
  await waitFor('some chunks done', async () => (await readUploadStatus(s.db, intake.uploadId)).doneChunks >= 3, 60_000);
  await handle.stop();
  const before = await readUploadStatus(s.db, intake.uploadId);
  const cancelled = await cancelUpload(s.db, intake.uploadId);
  expect(cancelled.status).toBe('CANCELLED');
  expect(cancelled.cancelledChunks).toBe(intake.chunkCount - before.doneChunks);

  await startIngestion(r, s);
  await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic), 60_000);
  const after = await readUploadStatus(s.db, intake.uploadId);
  expect(after.status).toBe('CANCELLED');
  expect(after.doneChunks).toBe(before.doneChunks);
  expect(after.acceptedRows).toBe(before.acceptedRows);
  expect(after.acceptedRows + after.rejectedRows + after.duplicateRows + after.cancelledRows).toBe(BigInt(expected.rows));
  const [{ n }] = (await s.db('billing_item').where({ source: 'UPLOAD' }).count({ n: '*' })) as [Record<string, string>];
  expect(BigInt(n!)).toBe(after.acceptedRows);

  // Cancelling a finished upload changes nothing.
  expect(await cancelUpload(s.db, intake.uploadId)).toEqual({ uploadId: intake.uploadId, status: 'CANCELLED', cancelledChunks: 0 });
}, 180_000);

test('cancelling a completed upload is a no-op that says so', async () => {
  const s = await uploadSetup(r, 1);
  await startIngestion(r, s);
  const intake = await uploadInto(s, Buffer.from('external_ref,shop_user_id,region,currency,amount,item_type\nc-1,652024209997893632,SG,SGD,1.00,ADJUSTMENT\n'));
  await waitForUpload(s, intake.uploadId);
  expect(await cancelUpload(s.db, intake.uploadId)).toEqual({ uploadId: intake.uploadId, status: 'COMPLETED', cancelledChunks: 0 });
}, 120_000);
