import fs from 'node:fs/promises';
import path from 'node:path';
import { StsError } from '../../../runtime/errors';
import { PayoutFileConflictError } from '../../../settlement/payout-file/payout-file-errors';
import { readManifest } from '../../../settlement/payout-file/manifest';
import { payablePageQuery } from '../../../settlement/payout-file/payout-pages';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { useTestResources } from '../../fixtures/resources';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

const r = useTestResources();

/** Every status, plus payouts of another cycle and another region that must stay out. */
async function seedCycle() {
  const { db } = await r.database();
  await seedPayouts(db, [
    { id: BASE_ID + 1n, shopUserId: BASE_ID + 101n, amountMinor: 1050n, status: 'PENDING' },
    { id: BASE_ID + 2n, shopUserId: BASE_ID + 102n, amountMinor: 99n, status: 'SUBMITTED' },
    { id: BASE_ID + 3n, shopUserId: BASE_ID + 103n, amountMinor: 100000n, status: 'PAID' },
    { id: BASE_ID + 4n, shopUserId: BASE_ID + 104n, amountMinor: 1n, status: 'FAILED' },
    { id: BASE_ID + 5n, shopUserId: BASE_ID + 105n, amountMinor: 500n, status: 'ON_HOLD' },
    { id: BASE_ID + 6n, shopUserId: BASE_ID + 106n, amountMinor: 700n, status: 'CARRIED_FORWARD' },
    { id: BASE_ID + 7n, shopUserId: BASE_ID + 101n, amountMinor: 2500n, currency: 'MYR' },
    { id: BASE_ID + 8n, shopUserId: BASE_ID + 101n, amountMinor: 300n, cycleId: 20261123n },
    {
      id: BASE_ID + 9n,
      shopUserId: BASE_ID + 101n,
      amountMinor: 300n,
      region: 'MY',
      currency: 'MYR',
    },
  ]);
  return { db, dataDir: await tempDataDir(r) };
}

describe('writePayoutFiles', () => {
  it('writes one verified file per currency with its manifest, and records each RELEASED', async () => {
    const { db, dataDir } = await seedCycle();
    const result = await writePayoutFiles(db, dataDir, 'SG', CYCLE);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(
      result.files.map((f) => [f.currency, f.state, f.status, f.nbOfTxs, f.ctrlSumMinor]),
    ).toEqual([
      ['MYR', 'written', 'RELEASED', 1, 2500n],
      ['SGD', 'written', 'RELEASED', 4, 101150n],
    ]);

    const sgd = result.files[1]!;
    expect(sgd.path).toBe(
      path.join(dataDir, 'payout-files', 'SG', '20261116', 'pain001-SG-20261116-SGD.xml'),
    );
    const xml = await fs.readFile(sgd.path, 'utf8');
    // PENDING, SUBMITTED, PAID and FAILED are in; ON_HOLD and CARRIED_FORWARD are not.
    const ids = [...xml.matchAll(/<EndToEndId>(\d+)<\/EndToEndId>/g)].map((m) => m[1]);
    expect(ids).toEqual([1n, 2n, 3n, 4n].map((n) => (BASE_ID + n).toString()));
    expect(xml).toContain('<CtrlSum>1011.50</CtrlSum>');

    const manifest = await readManifest(`${sgd.path}.manifest.json`);
    expect(manifest).toMatchObject({
      ok: true,
      manifest: {
        region: 'SG',
        currency: 'SGD',
        cycleId: '20261116',
        fileName: 'pain001-SG-20261116-SGD.xml',
        nbOfTxs: 4,
        ctrlSum: '1011.50',
        ctrlSumMinor: '101150',
        sha256: sgd.sha256,
      },
    });
    expect(manifest.ok && manifest.manifest.payoutIds).toMatchObject({
      first: (BASE_ID + 1n).toString(),
      last: (BASE_ID + 4n).toString(),
    });

    const rows = await db('payout_file').select().orderBy('currency');
    expect(
      rows.map((row) => [
        row.currency,
        row.path,
        row.sha256,
        row.tx_count,
        row.ctrl_sum_minor,
        row.status,
        row.released_at !== null,
      ]),
    ).toEqual([
      [
        'MYR',
        'payout-files/SG/20261116/pain001-SG-20261116-MYR.xml',
        result.files[0]!.sha256,
        1,
        '2500',
        'RELEASED',
        true,
      ],
      [
        'SGD',
        'payout-files/SG/20261116/pain001-SG-20261116-SGD.xml',
        sgd.sha256,
        4,
        '101150',
        'RELEASED',
        true,
      ],
    ]);
    expect((await fs.readdir(path.dirname(sgd.path))).sort()).toEqual([
      'pain001-SG-20261116-MYR.xml',
      'pain001-SG-20261116-MYR.xml.manifest.json',
      'pain001-SG-20261116-SGD.xml',
      'pain001-SG-20261116-SGD.xml.manifest.json',
    ]);
  });

  it('regenerates identical bytes and SHA-256, leaves the file unchanged, and ignores payouts getting paid', async () => {
    const { db, dataDir } = await seedCycle();
    const first = await writePayoutFiles(db, dataDir, 'SG', CYCLE);
    const bytes = await fs.readFile(first.files[1]!.path);
    const manifest = await fs.readFile(first.files[1]!.manifestPath);

    await db('payout')
      .where({ id: (BASE_ID + 1n).toString() })
      .update({ status: 'PAID' });
    const again = await writePayoutFiles(db, dataDir, 'SG', CYCLE);
    expect(again.ok).toBe(true);
    expect(again.files.map((f) => [f.state, f.status, f.sha256])).toEqual(
      first.files.map((f) => ['unchanged', 'RELEASED', f.sha256]),
    );
    expect(await fs.readFile(first.files[1]!.path)).toEqual(bytes);

    // From scratch in another data dir: the same bytes again, manifest included.
    const elsewhere = await tempDataDir(r);
    await db('payout_file').delete();
    const fresh = await writePayoutFiles(db, elsewhere, 'SG', CYCLE);
    expect(fresh.files[1]!.state).toBe('written');
    expect(await fs.readFile(fresh.files[1]!.path)).toEqual(bytes);
    expect(await fs.readFile(fresh.files[1]!.manifestPath)).toEqual(manifest);
  });

  it('refuses with STS_PAYOUT_FILE_CONFLICT to replace a file whose payouts changed, and leaves it as it was', async () => {
    const { db, dataDir } = await seedCycle();
    const first = await writePayoutFiles(db, dataDir, 'SG', CYCLE);
    const file = first.files[1]!.path;
    const bytes = await fs.readFile(file);

    await db('payout')
      .where({ id: (BASE_ID + 5n).toString() })
      .update({ status: 'PENDING' }); // a hold lifted
    const err = await writePayoutFiles(db, dataDir, 'SG', CYCLE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayoutFileConflictError);
    expect((err as StsError).code).toBe('STS_PAYOUT_FILE_CONFLICT');
    expect((err as StsError).retriable).toBe(false);
    expect(await fs.readFile(file)).toEqual(bytes);
    expect((await fs.readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to bring back a released file, deleted from disk, with other bytes', async () => {
    const { db, dataDir } = await seedCycle();
    const first = await writePayoutFiles(db, dataDir, 'SG', CYCLE);
    const sgd = first.files[1]!;
    await fs.rm(sgd.path);
    await fs.rm(sgd.manifestPath);
    await db('payout')
      .where({ id: (BASE_ID + 1n).toString() })
      .update({ amount_minor: '1051' });

    const err = await writePayoutFiles(db, dataDir, 'SG', CYCLE).catch((e: unknown) => e);
    expect((err as StsError).code).toBe('STS_PAYOUT_FILE_CONFLICT');
    expect((err as StsError).message).toContain(`was released with sha256 ${sgd.sha256}`);
    await expect(fs.stat(sgd.path)).rejects.toThrow(/ENOENT/);
  });

  it('leaves a file WRITTEN and returns the failures when the database changes before verification', async () => {
    const { db, dataDir } = await seedCycle();
    const result = await writePayoutFiles(db, dataDir, 'SG', CYCLE, {
      beforeVerify: async () => {
        await db('payout')
          .where({ id: (BASE_ID + 2n).toString() })
          .update({ amount_minor: '98' });
      },
    });
    expect(result.ok).toBe(false);
    expect(result.files.map((f) => [f.currency, f.status])).toEqual([
      ['MYR', 'RELEASED'],
      ['SGD', 'WRITTEN'],
    ]);
    expect(result.failures.map((f) => [path.basename(f.file), f.name])).toEqual([
      ['pain001-SG-20261116-SGD.xml', 'db-payouts'],
    ]);
    expect(result.failures[0]!.detail).toContain('amount_minor 98 where the file has 99');
    const row = await db('payout_file').where({ region: 'SG', currency: 'SGD' }).first();
    expect([row.status, row.released_at]).toEqual(['WRITTEN', null]);
  });

  it('refuses a cycle holding a zero or negative payout with STS_PAYOUT_FILE_INVALID, writing nothing', async () => {
    const { db } = await r.database();
    const dataDir = await tempDataDir(r);
    await seedPayouts(db, [
      { id: BASE_ID + 1n, shopUserId: BASE_ID, amountMinor: 500n },
      { id: BASE_ID + 2n, shopUserId: BASE_ID, amountMinor: -20n, currency: 'MYR' },
    ]);
    await seedPayouts(db, [
      { id: BASE_ID + 3n, shopUserId: BASE_ID + 1n, amountMinor: 30n, currency: 'MYR' },
    ]);
    const err = await writePayoutFiles(db, dataDir, 'SG', CYCLE).catch((e: unknown) => e);
    expect((err as StsError).code).toBe('STS_PAYOUT_FILE_INVALID');
    expect((err as StsError).message).toContain(`payout ${BASE_ID + 2n}`);
    expect(await fs.readdir(path.join(dataDir, 'payout-files', 'SG', '20261116'))).toEqual([]);
  });

  it('reads pages through an index in id order, with no filesort (EXPLAIN)', async () => {
    const { db } = await r.database();
    // Payouts of 4 regions over 5 cycles with interleaved ids, as a year of production would have.
    const regions = [
      ['SG', 'SGD'],
      ['MY', 'MYR'],
      ['TH', 'THB'],
      ['PH', 'PHP'],
    ] as const;
    const cycles = [20261026n, 20261102n, 20261109n, 20261116n, 20261123n];
    await seedPayouts(
      db,
      Array.from({ length: 20_000 }, (_, i) => {
        const [region, currency] = regions[i % 4]!;
        return {
          id: BASE_ID + BigInt(i),
          shopUserId: BASE_ID + BigInt(i),
          amountMinor: 100n,
          region,
          currency,
          cycleId: cycles[Math.floor(i / 4) % 5]!,
        };
      }),
    );
    await db.raw('ANALYZE TABLE payout');
    const sql = payablePageQuery(
      db,
      { region: 'SG', cycleId: CYCLE, currency: 'SGD' },
      BASE_ID,
      10_000,
    )
      .toSQL()
      .toNative();
    const [plan] = (await db.raw(`EXPLAIN ${sql.sql}`, sql.bindings as string[])) as [
      Array<{ key: string | null; Extra: string | null }>,
    ];
    expect(plan[0]!.key).toBe('ix_payout_file_page');
    expect(plan[0]!.Extra ?? '').not.toContain('filesort');
  });
});
