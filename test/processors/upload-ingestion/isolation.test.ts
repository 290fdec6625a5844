import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { valueSubject } from '../../../runtime/topology/types';
import { FINAL_UPLOAD_STATES, readUploadStatus } from '../../../services/uploads/upload-status';
import type { OrderEvent } from '../../../contracts/order-event';
import { useTestResources } from '../../fixtures/resources';
import { spawnProcessorChild, type RunningChild } from '../../fixtures/child-process';
import { writeUploadCsv } from '../../fixtures/upload-files';
import { uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * docs/DESIGN.md, lesson 4: on a shared topic, a big file blocked every other task. Uploads have
 * their own topic and group, so order events published while a 300k-row file is loading are all
 * applied before that file finishes. (The throughput ratio is in bench/, not here.)
 *
 * The events go out once the file's first chunk is committed, while the intake is still
 * splitting it: ingestion now loads 300k rows in seconds, and events published only after the
 * intake had finished once found the file already done.
 */
const r = useTestResources();
const CATALOG_CHILD = path.join(FIXTURES_DIR, 'catalog-child.ts');

test('order events published during a large upload are all applied before the upload completes', async () => {
  const s = await uploadSetup(r, 6);
  const orderTopic = await r.topic('orders', 6);
  const orderSchemaId = await s.registry.register(valueSubject(orderTopic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8'));
  const file = path.join(s.dataDir, 'isolation.csv');
  await writeUploadCsv(file, { rows: 300_000, sellers: 1000, refPrefix: 'iso' });

  const children: RunningChild[] = [];
  const spawn = (processor: string, topic: string, group: string) => {
    const c = spawnProcessorChild({ mysqlUrl: s.url, topic, group, script: CATALOG_CHILD, extraEnv: { FIXTURE_PROCESSOR: processor } });
    children.push(c);
    return c;
  };
  try {
    const ingestion = spawn('upload-ingestion', s.topic, s.group);
    const aggregation = spawn('settlement-aggregation', orderTopic, r.group('orders'));
    expect(await ingestion.waitForLine(/^ready$/)).toBe('ready');
    expect(await aggregation.waitForLine(/^ready$/)).toBe('ready');

    const intakeDone = uploadInto(s, file, {}, { maxChunkRows: 2000 });
    let intakeFailed: unknown;
    intakeDone.catch((err: unknown) => (intakeFailed = err));
    const firstChunkDeadline = Date.now() + 120_000;
    while (!(await s.db('upload_chunk').where({ status: 'DONE' }).first('upload_id'))) {
      if (intakeFailed) throw intakeFailed;
      if (Date.now() > firstChunkDeadline) throw new Error('no chunk of the upload was committed in 120 s');
      await new Promise((res) => setTimeout(res, 20));
    }
    const producer = r.kafka.producer();
    await producer.connect();
    const events = 5000;
    for (let batch = 0; batch < events; batch += 500) {
      const messages = await Promise.all(
        Array.from({ length: 500 }, async (_, k) => {
          const i = batch + k;
          const e: OrderEvent = {
            event_id: `iso-evt-${i}`,
            event_type: 'ORDER_COMPLETED',
            order_id: 800000000000000000n + BigInt(i),
            shop_user_id: 652024209997700000n + BigInt(i % 100),
            region: 'SG',
            currency: 'SGD',
            amount_minor: 100n,
            category: 'books',
            affiliate_user_id: null,
            occurred_at: new Date(),
          };
          return { key: e.shop_user_id.toString(), value: await s.codec.encode(orderSchemaId, e) };
        }),
      );
      await producer.send({ topic: orderTopic, messages });
    }
    await producer.disconnect();

    const deadline = Date.now() + 120_000;
    let applied = 0;
    while (applied < events && Date.now() < deadline) {
      const [{ n }] = (await s.db('billing_item').where({ source: 'ORDER' }).count({ n: '*' })) as [Record<string, string>];
      applied = Number(n);
      if (applied < events) await new Promise((res) => setTimeout(res, 100));
    }
    const [upload] = (await s.db('upload').select('id')) as Array<{ id: string }>;
    const uploadWhenOrdersDone = await readUploadStatus(s.db, BigInt(upload!.id));
    expect(applied).toBe(events);
    expect(FINAL_UPLOAD_STATES.has(uploadWhenOrdersDone.status)).toBe(false);

    const intake = await intakeDone;
    const final = await waitForUpload(s, intake.uploadId, 300_000);
    expect(final.acceptedRows).toBe(300_000n);
    expect(uploadWhenOrdersDone.doneChunks).toBeLessThan(final.chunkCount);
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
  }
}, 600_000);
