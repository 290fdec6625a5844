import { useTestResources } from '../fixtures/resources';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { CycleResolver } from '../../runtime/billing/cycle-resolver';
import { ingestChunks } from '../../processors/upload-ingestion/chunk-ingest';
import type { UploadChunk } from '../../contracts/upload-chunk';

/**
 * Regression: each chunk updated its upload's counters as its last statement, but a transaction
 * applies several chunks, so the upload row stayed locked while the NEXT chunk of the same
 * transaction did all its work. Every other transaction of the upload (and the intake recording
 * its chunks) queued behind it: concurrent partitions ran one at a time, about 2 s of lock wait
 * per batch in the 200k-row benchmark. The counters are now written once, after the batch's last
 * chunk, so another batch of the same upload commits while this one is still working.
 */
const r = useTestResources();
const UPLOAD = 880000000000000001n;
const COLUMNS = ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type'];

const chunk = (index: number, seller: bigint): UploadChunk => ({
  upload_id: UPLOAD,
  chunk_index: index,
  columns: COLUMNS,
  rows: Array.from({ length: 50 }, (_, i) => ({ row_number: BigInt(index * 50 + i + 1), raw: `lock-${index}-${i},${seller},SG,SGD,1.00,ADJUSTMENT`, problem: null })),
});

test('a batch still working on its second chunk does not hold back another batch of the same upload', async () => {
  const { db } = await r.database();
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'lock-test' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  await db('upload').insert({ id: UPLOAD.toString(), file_name: 'x.csv', sha256: 'a'.repeat(64), size_bytes: 1, stored_path: 'x', status: 'PROCESSING', created_by: 'test', total_rows: 150, chunk_count: 3 });
  await db('upload_chunk').insert([0, 1, 2].map((i) => ({ upload_id: UPLOAD.toString(), chunk_index: i, first_row: i * 50 + 1, row_count: 50, status: 'PENDING' })));
  const now = new Date('2026-11-18T03:00:00Z');
  // The cycle exists already, as it does after an upload's first batch (its creation is a lock of its own).
  await db.transaction((trx) => new CycleResolver(trx).resolve('SG', now));

  // Batch A applies chunk 0, then waits on chunk 1's checkpoint, held by this blocker.
  const blocker = await db.transaction();
  await blocker.raw('SELECT status FROM upload_chunk WHERE upload_id = ? AND chunk_index = 1 FOR UPDATE', [UPLOAD.toString()]);
  const batchA = db.transaction((trx) => ingestChunks(trx, [chunk(0, 652024209997893632n), chunk(1, 652024209997893632n)], ids, now));
  // Chunk 0 is applied once its checkpoint reads DONE to a dirty read; A's next statement waits.
  for (let waited = 0; ; waited += 50) {
    const done = await db.transaction((trx) => trx('upload_chunk').where({ upload_id: UPLOAD.toString(), chunk_index: 0, status: 'DONE' }).first(), { isolationLevel: 'read uncommitted' });
    if (done) break;
    if (waited > 30_000) throw new Error('batch A never finished chunk 0');
    await new Promise((res) => setTimeout(res, 50));
  }

  // Batch B, another partition's chunk of the same upload, must commit meanwhile.
  const batchB = db.transaction((trx) => ingestChunks(trx, [chunk(2, 652024209997893633n)], ids, now));
  let timer: NodeJS.Timeout | undefined;
  const winner = await Promise.race([batchB.then(() => 'B committed'), new Promise((res) => (timer = setTimeout(() => res('B still waiting after 10 s'), 10_000)))]);
  clearTimeout(timer);
  await blocker.commit();
  await Promise.all([batchA, batchB]);
  expect(winner).toBe('B committed');

  const upload = await db('upload').where({ id: UPLOAD.toString() }).first();
  expect([upload.status, Number(upload.done_chunks), Number(upload.accepted_rows)]).toEqual(['COMPLETED', 3, 150]);
});
