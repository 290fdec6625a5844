import fs from 'node:fs';
import path from 'node:path';
import { useTestResources } from '../../fixtures/resources';
import { spawnProcessorChild, type RunningChild } from '../../fixtures/child-process';
import { writeUploadCsv } from '../../fixtures/upload-files';
import { uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';
import { readUploadStatus } from '../../../services/uploads/upload-status';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * docs/DESIGN.md, lesson 4: a consumer failure must not restart a file from its first row. The real
 * upload-ingestion processor runs in its own process and is SIGKILLed five times mid-file; every
 * restart resumes at the unfinished chunks, and the final counts and sums are exact.
 */
const r = useTestResources();
const CATALOG_CHILD = path.join(FIXTURES_DIR, 'catalog-child.ts');

test('kill -9 five times during a 200k-row upload: accepted + rejected + duplicate = total, no duplicate items, exact sums', async () => {
  const s = await uploadSetup(r, 6);
  const file = path.join(s.dataDir, 'crash-200k.csv');
  const expected = await writeUploadCsv(file, { rows: 200_000, sellers: 500, refPrefix: 'crash', badEvery: 1000 });
  const intake = await uploadInto(s, file, {}, { maxChunkRows: 2000 });
  // 2,000-row chunks per partition, six partitions: a little over 100 chunks.
  expect(intake.chunkCount).toBeGreaterThanOrEqual(100);

  const start = () =>
    spawnProcessorChild({ mysqlUrl: s.url, topic: s.topic, group: s.group, script: CATALOG_CHILD, extraEnv: { FIXTURE_PROCESSOR: 'upload-ingestion' } });
  let child: RunningChild | undefined;
  const chunksAtKill: number[] = [];
  try {
    for (let kill = 0; kill < 5; kill++) {
      child = start();
      expect(await child.waitForLine(/^ready$/, 60_000)).toBe('ready');
      // Let it commit a few more chunks than last time, then kill it mid-transaction.
      const target = (chunksAtKill[chunksAtKill.length - 1] ?? 0) + 8;
      const deadline = Date.now() + 90_000;
      while ((await readUploadStatus(s.db, intake.uploadId)).doneChunks < target && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      child.proc.kill('SIGKILL');
      await child.exited;
      chunksAtKill.push((await readUploadStatus(s.db, intake.uploadId)).doneChunks);
    }
    expect(chunksAtKill[4]).toBeLessThan(intake.chunkCount);
    child = start();
    expect(await child.waitForLine(/^ready$/, 60_000)).toBe('ready');
    const final = await waitForUpload(s, intake.uploadId, 300_000);

    expect(final.status).toBe('COMPLETED');
    expect(final.acceptedRows + final.rejectedRows + final.duplicateRows).toBe(200_000n);
    expect(final.acceptedRows).toBe(BigInt(expected.accepted));
    expect(final.rejectedRows).toBe(BigInt(expected.rejected));
    expect(final.duplicateRows).toBe(0n);

    const [{ n, distinctRefs, sum }] = await s.db('billing_item')
      .where({ source: 'UPLOAD' })
      .select(s.db.raw('COUNT(*) AS n'), s.db.raw('COUNT(DISTINCT source_ref) AS distinctRefs'), s.db.raw('CAST(SUM(amount_minor) AS CHAR) AS sum'));
    expect([Number(n), Number(distinctRefs), sum]).toEqual([expected.accepted, expected.accepted, expected.total.toString()]);
    const [{ rejects }] = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() }).count({ rejects: '*' })) as [Record<string, string>];
    expect(Number(rejects)).toBe(expected.rejected);

    const balances = (await s.db('settlement_account').select('shop_user_id', 'balance_minor')) as Array<{ shop_user_id: string; balance_minor: string }>;
    const byseller = new Map(balances.map((b) => [BigInt(b.shop_user_id), BigInt(b.balance_minor)]));
    for (const [seller, total] of expected.sumBySeller) expect(byseller.get(seller)).toBe(total);
    const [{ chunks }] = (await s.db('upload_chunk').where({ upload_id: intake.uploadId.toString(), status: 'DONE' }).count({ chunks: '*' })) as [Record<string, string>];
    expect(Number(chunks)).toBe(intake.chunkCount);
  } finally {
    child?.proc.kill('SIGKILL');
    await fs.promises.rm(file, { force: true });
  }
}, 600_000);
