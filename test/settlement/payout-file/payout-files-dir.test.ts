import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { createDb } from '../../../runtime/db/knex';
import { Lease } from '../../../runtime/db/lease';
import { resolveStoredPath } from '../../../runtime/fs/stored-path';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { setPayee } from '../../../runtime/payees/payee-registry';
import { parsePayoutRails } from '../../../runtime/payouts/payout-rails';
import { createAppContext } from '../../../services/run/app-context';
import { sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import { syntheticPayee } from '../../../tools/demo/synthetic-payees';
import { BANK_SELLERS, bankFolders, bankLogger } from '../../fixtures/bank-rail';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup, type UploadSetup } from '../../fixtures/upload-harness';

/**
 * STS_PAYOUT_FILES_DIR: the close's pain.001 files and manifests, and the bank rail's files, go to
 * a folder outside the data directory (the volume a bank transfer picks up from), are read back
 * from there by verify, the ops API and the bank sender, and files stored before under the data
 * directory are still found by their relative paths.
 */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const SELLERS = BANK_SELLERS.slice(0, 3);

function outsideDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  r.defer(() => fs.promises.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under dir, relative to it. */
const filesUnder = (dir: string) =>
  (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

/** An SG cycle that has ended, with items and payees for three sellers. */
async function endedCycle(s: UploadSetup) {
  const current = cycleIdFor('SG', new Date());
  const closing = cycleBounds(
    'SG',
    cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1)),
  );
  await ensureCycle(s.db, 'SG', closing.cycleId);
  await s.db.transaction((trx) =>
    appendBillingItems(
      trx,
      SELLERS.map((seller, i) => ({
        id: s.ids.next(),
        region: 'SG',
        shopUserId: seller,
        currency: 'SGD',
        amountMinor: 9_007_199_254_740_993n + BigInt(i),
        itemType: 'ADJUSTMENT',
        source: 'TEST',
        sourceRef: `files-dir-${seller}`,
        cycleId: closing.cycleId,
      })),
    ),
  );
  for (const seller of SELLERS)
    await setPayee(s.db, seller, syntheticPayee(seller, 'SGD'), 'cli:test');
  const payoutsTopic = await r.topic('payouts', 1);
  await s.registry.register(
    `${payoutsTopic}-value`,
    fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'),
  );
  return { closing, payoutsTopic };
}

/** GET /payout-files/verify through the ops API of a process configured with these folders. */
async function verifyThroughApi(
  s: UploadSetup,
  dirs: { dataDir: string; payoutFilesDir: string },
  cycleId: bigint,
) {
  const ctx = createAppContext(
    { ...loadConfig(), mysqlUrl: s.url, ...dirs },
    'payout-files-dir-test',
    { logLevel: 'warn', pool: 2 },
  );
  const app = await buildOpsApi(
    { ...ctx, logger: pino({ level: 'silent' }) },
    { tokens: `${VIEWER}:viewer:vera` },
  );
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${base}/payout-files/verify?region=SG&cycle=${cycleId}&currency=SGD`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    return { status: res.status, body: (await res.json()) as { ok: boolean; file: string } };
  } finally {
    await app.close();
    await ctx.close();
  }
}

test('STS_PAYOUT_FILES_DIR resolves a relative value against the data directory in use, keeps an absolute one, and defaults to the data directory', () => {
  const where = (c: ReturnType<typeof loadConfig>) => path.resolve(c.dataDir, c.payoutFilesDir);
  expect(where(loadConfig({ STS_DATA_DIR: '/srv/sts' }))).toBe('/srv/sts');
  expect(where(loadConfig({ STS_DATA_DIR: '/srv/sts', STS_PAYOUT_FILES_DIR: 'outgoing' }))).toBe('/srv/sts/outgoing');
  expect(where(loadConfig({ STS_DATA_DIR: '/srv/sts', STS_PAYOUT_FILES_DIR: '/mnt/bank-pickup' }))).toBe('/mnt/bank-pickup');
  // A copy of the config with another data directory (a test's own) keeps its files there.
  expect(where({ ...loadConfig({ STS_DATA_DIR: '/srv/sts', STS_PAYOUT_FILES_DIR: 'outgoing' }), dataDir: '/tmp/other' })).toBe('/tmp/other/outgoing');
});

test('a close with the files directory outside the data directory writes its files and manifests there, verifies and releases them, sends the bank file from there, and writes nothing in the old place', async () => {
  const s = await uploadSetup(r, 1);
  const payoutFilesDir = outsideDir('sts-payout-pickup-');
  const { outboundDir } = bankFolders(r);
  const { closing, payoutsTopic } = await endedCycle(s);

  const result = await closeCycle(
    {
      db: s.db,
      kafka: r.kafka,
      ids: s.ids,
      outbox: new OutboxWriter(s.codec, s.registry),
      dataDir: s.dataDir,
      payoutFilesDir,
      logger: bankLogger,
    },
    {
      region: 'SG',
      cutoff: closing.cutoffAt,
      plan: { inputs: [], derived: [] },
      payoutsTopic,
      rails: parsePayoutRails('SG=bank-file'),
      payeeCooloffHours: 0,
      bank: { outboundDir, environment: 'TEST' },
    },
  );
  expect(result.byStatus).toEqual({ PENDING: 3 });

  // The cycle's file and manifest, in the files directory; its row records where, absolutely.
  const [file] = result.files;
  const xml = path.join(
    payoutFilesDir,
    'payout-files',
    'SG',
    String(closing.cycleId),
    `pain001-SG-${closing.cycleId}-SGD.xml`,
  );
  expect(result.files).toHaveLength(1);
  expect(file).toMatchObject({
    path: xml,
    manifestPath: `${xml}.manifest.json`,
    relativePath: xml,
    status: 'RELEASED',
    state: 'written',
  });
  expect(file!.verify.ok).toBe(true);
  const row = (await s
    .db('payout_file')
    .where({ region: 'SG', cycle_id: closing.cycleId.toString() })
    .first('path', 'status')) as { path: string; status: string };
  expect(row).toEqual({ path: xml, status: 'RELEASED' });
  expect(resolveStoredPath(s.dataDir, row.path)).toBe(xml);

  // The bank rail's file too, read back from there and transmitted.
  const bankRow = (await s.db('bank_file').first('msg_id', 'path', 'status')) as {
    msg_id: string;
    path: string;
    status: string;
  };
  expect(bankRow).toEqual({
    msg_id: bankRow.msg_id,
    path: path.join(payoutFilesDir, 'bank-files', 'SG', `${bankRow.msg_id}.xml`),
    status: 'TRANSMITTED',
  });
  expect(fs.readFileSync(path.join(outboundDir, `${bankRow.msg_id}.xml`))).toEqual(
    fs.readFileSync(bankRow.path),
  );

  // Nothing else there (no temp file left behind), nothing in the data directory.
  expect(filesUnder(payoutFilesDir)).toEqual([
    `bank-files/SG/${bankRow.msg_id}.xml`,
    `payout-files/SG/${closing.cycleId}/pain001-SG-${closing.cycleId}-SGD.xml`,
    `payout-files/SG/${closing.cycleId}/pain001-SG-${closing.cycleId}-SGD.xml.manifest.json`,
  ]);
  expect(filesUnder(s.dataDir)).toEqual([]);

  // Verify again, by path and through the ops API of a process configured the same way.
  expect((await verifyPayoutFile(xml, s.db)).ok).toBe(true);
  expect(
    await verifyThroughApi(s, { dataDir: s.dataDir, payoutFilesDir }, closing.cycleId),
  ).toEqual({ status: 200, body: expect.objectContaining({ ok: true, file: xml }) });
}, 120_000);

test('files written under the data directory before the option was set keep their relative paths: verified, and sent to the bank, from where they are', async () => {
  const s = await uploadSetup(r, 1);
  const { outboundDir } = bankFolders(r);
  const { closing, payoutsTopic } = await endedCycle(s);

  // Before: the default location. The bank rail's lease is held elsewhere, so the close leaves its
  // payouts to the sender, which writes the bank file and stops before any money is reserved.
  const other = createDb(s.url, { pool: 1 });
  r.defer(() => other.destroy());
  const held = new Lease(other, 'sts.bank-send');
  expect(await held.tryAcquire()).toBe(true);
  await closeCycle(
    {
      db: s.db,
      kafka: r.kafka,
      ids: s.ids,
      outbox: new OutboxWriter(s.codec, s.registry),
      dataDir: s.dataDir,
      logger: bankLogger,
    },
    {
      region: 'SG',
      cutoff: closing.cutoffAt,
      plan: { inputs: [], derived: [] },
      payoutsTopic,
      rails: parsePayoutRails('SG=bank-file'),
      payeeCooloffHours: 0,
      bank: { outboundDir, environment: 'TEST' },
    },
  );
  await held.release();
  const before = {
    db: s.db,
    dataDir: s.dataDir,
    outboundDir,
    environment: 'TEST',
    logger: bankLogger,
  };
  await sendBankFiles(before, { until: 'write' });
  const payoutRow = (await s.db('payout_file').first('path')) as { path: string };
  expect(payoutRow.path).toBe(
    `payout-files/SG/${closing.cycleId}/pain001-SG-${closing.cycleId}-SGD.xml`,
  );
  const bankRow = (await s.db('bank_file').first('msg_id', 'path', 'status')) as {
    msg_id: string;
    path: string;
    status: string;
  };
  expect(bankRow).toMatchObject({ path: `bank-files/SG/${bankRow.msg_id}.xml`, status: 'WRITTEN' });

  // After: new files go elsewhere; the stored relative paths still mean the data directory.
  const payoutFilesDir = outsideDir('sts-payout-pickup-');
  expect(
    await verifyThroughApi(s, { dataDir: s.dataDir, payoutFilesDir }, closing.cycleId),
  ).toEqual({
    status: 200,
    body: expect.objectContaining({ ok: true, file: path.join(s.dataDir, payoutRow.path) }),
  });
  expect((await sendBankFiles({ ...before, payoutFilesDir })).transmitted).toEqual([
    bankRow.msg_id,
  ]);
  expect(fs.readFileSync(path.join(outboundDir, `${bankRow.msg_id}.xml`))).toEqual(
    fs.readFileSync(path.join(s.dataDir, bankRow.path)),
  );
  expect(filesUnder(payoutFilesDir)).toEqual([]);
}, 120_000);
