import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { PayoutFileUnreadableError } from '../../../settlement/payout-file/payout-file-errors';
import {
  verifyPayoutFile,
  type VerifyResult,
} from '../../../settlement/payout-file/payout-file-verify';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { useTestResources } from '../../fixtures/resources';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

const r = useTestResources();
const NAME = 'pain001-SG-20261116-SGD.xml';

/** A cycle of five SGD payouts, its file written and released; returns the file and its db. */
async function releasedFile(): Promise<{ db: Knex; file: string }> {
  const { db } = await r.database();
  await seedPayouts(
    db,
    [1n, 2n, 3n, 4n, 5n].map((n) => ({
      id: BASE_ID + n,
      shopUserId: BASE_ID + 100n + n,
      amountMinor: 1000n * n + 5n,
    })),
  );
  const result = await writePayoutFiles(db, await tempDataDir(r), 'SG', CYCLE);
  expect(result.ok).toBe(true);
  return { db, file: result.files[0]!.path };
}

/** A copy of the file and its manifest, under the same name, edited by `edit`. */
async function tampered(
  file: string,
  edit: (xml: string) => string,
  editManifest: (json: string) => string = (j) => j,
): Promise<string> {
  const copy = path.join(await tempDataDir(r), NAME);
  const xml = await fs.readFile(file, 'utf8');
  const manifest = await fs.readFile(`${file}.manifest.json`, 'utf8');
  const [editedXml, editedManifest] = [edit(xml), editManifest(manifest)];
  expect(editedXml !== xml || editedManifest !== manifest).toBe(true); // the edit must have hit
  await fs.writeFile(copy, editedXml);
  await fs.writeFile(`${copy}.manifest.json`, editedManifest);
  return copy;
}

const failed = (result: VerifyResult) => result.checks.filter((c) => !c.ok).map((c) => c.name);
const detail = (result: VerifyResult, name: string) =>
  result.checks.find((c) => c.name === name)?.detail ?? '';

describe('verifyPayoutFile', () => {
  let shared: { db: Knex; file: string };
  beforeAll(async () => {
    shared = await releasedFile();
  });

  it('passes every check on a good file, with and without the database', async () => {
    const withDb = await verifyPayoutFile(shared.file, shared.db);
    expect(withDb.checks.map((c) => [c.name, c.ok])).toEqual(
      [
        'format',
        'structure',
        'group-header',
        'transactions',
        'nb-of-txs',
        'ctrl-sum',
        'manifest',
        'sha256',
        'db-payouts',
        'db-complete',
        'db-record',
      ].map((n) => [n, true]),
    );
    expect(withDb.ok).toBe(true);
    const withoutDb = await verifyPayoutFile(shared.file);
    expect(withoutDb.ok).toBe(true);
    expect(withoutDb.checks.map((c) => c.name)).not.toContain('db-payouts');
  });

  it('catches a tampered amount', async () => {
    const copy = await tampered(shared.file, (xml) => xml.replace('>20.05<', '>20.06<'));
    const result = await verifyPayoutFile(copy, shared.db);
    expect(failed(result)).toEqual(['ctrl-sum', 'manifest', 'sha256', 'db-payouts', 'db-record']);
    expect(detail(result, 'db-payouts')).toContain(
      `payout ${BASE_ID + 2n}: the database has amount_minor 2005 where the file has 2006`,
    );
  });

  it('catches a removed transaction', async () => {
    const copy = await tampered(shared.file, (xml) =>
      xml.replace(
        new RegExp(
          `      <CdtTrfTxInf>\\n        <PmtId>\\n          <EndToEndId>${BASE_ID + 3n}<[\\s\\S]*?</CdtTrfTxInf>\\n`,
        ),
        '',
      ),
    );
    const result = await verifyPayoutFile(copy, shared.db);
    expect(failed(result)).toEqual([
      'nb-of-txs',
      'ctrl-sum',
      'manifest',
      'sha256',
      'db-complete',
      'db-record',
    ]);
    expect(detail(result, 'db-complete')).toContain(`payout ${BASE_ID + 3n}`);
    expect(detail(result, 'nb-of-txs')).toContain('the file holds 4 transactions');
  });

  it('catches a wrong CtrlSum in the group header', async () => {
    const copy = await tampered(shared.file, (xml) =>
      xml.replace(
        '      <CtrlSum>150.25</CtrlSum>\n      <InitgPty>',
        '      <CtrlSum>150.26</CtrlSum>\n      <InitgPty>',
      ),
    );
    const result = await verifyPayoutFile(copy, shared.db);
    expect(failed(result)).toEqual(['group-header', 'ctrl-sum', 'manifest', 'sha256', 'db-record']);
    expect(detail(result, 'ctrl-sum')).toContain(
      'GrpHdr CtrlSum is 150.26 (15026 minor units), the amounts sum to 15025 minor units',
    );
  });

  it('catches one edited byte through the manifest checksum alone', async () => {
    const copy = await tampered(shared.file, (xml) =>
      xml.replace(
        'STS Marketplace Singapore</Nm>\n      </InitgPty>',
        'STS Marketplace Singaporf</Nm>\n      </InitgPty>',
      ),
    );
    const result = await verifyPayoutFile(copy, shared.db);
    expect(failed(result)).toEqual(['sha256', 'db-record']);
    expect((await verifyPayoutFile(copy)).checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'sha256',
    ]);
  });

  it('catches a manifest that disagrees, and a missing manifest', async () => {
    const copy = await tampered(
      shared.file,
      (xml) => xml,
      (json) => json.replace('"nbOfTxs": 5', '"nbOfTxs": 6'),
    );
    expect(failed(await verifyPayoutFile(copy))).toEqual(['manifest']);
    await fs.rm(`${copy}.manifest.json`);
    const result = await verifyPayoutFile(copy);
    expect(failed(result)).toEqual(['manifest', 'sha256']);
    expect(detail(result, 'manifest')).toContain('is missing');
  });

  it('refuses more decimals than the currency has, and a transaction outside the PmtInf', async () => {
    const decimals = await tampered(shared.file, (xml) => xml.replace('>10.05<', '>10.050<'));
    expect(detail(await verifyPayoutFile(decimals), 'transactions')).toContain(
      'has 3 decimals; the currency allows 2',
    );
    const outside = await tampered(shared.file, (xml) => {
      const tx = / {6}<CdtTrfTxInf>[\s\S]*?<\/CdtTrfTxInf>\n/.exec(xml)![0];
      return xml.replace('    </PmtInf>\n', `    </PmtInf>\n${tx}`);
    });
    expect(detail(await verifyPayoutFile(outside), 'structure')).toContain(
      'not one contiguous block inside the PmtInf',
    );
  });

  it('reports malformed XML as a failed check, not an exception', async () => {
    const broken = await tampered(shared.file, (xml) => xml.replace('</Amt>', '</Amnt>'));
    const result = await verifyPayoutFile(broken);
    expect(result.ok).toBe(false);
    expect(detail(result, 'structure')).toContain('not well-formed');
  });

  it('throws STS_PAYOUT_FILE_UNREADABLE only for a file it cannot read', async () => {
    const missing = path.join(await tempDataDir(r), NAME);
    const err = await verifyPayoutFile(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayoutFileUnreadableError);
    expect((err as PayoutFileUnreadableError).code).toBe('STS_PAYOUT_FILE_UNREADABLE');
    const dir = await verifyPayoutFile(path.dirname(shared.file)).catch((e: unknown) => e);
    expect((dir as PayoutFileUnreadableError).code).toBe('STS_PAYOUT_FILE_UNREADABLE');
  });

  it('catches a payable payout that is missing from the file', async () => {
    const { db, file } = await releasedFile();
    await seedPayouts(db, [{ id: BASE_ID + 6n, shopUserId: BASE_ID + 106n, amountMinor: 42n }]);
    const result = await verifyPayoutFile(file, db);
    expect(failed(result)).toEqual(['db-complete']);
    expect(detail(result, 'db-complete')).toContain(
      `payout ${BASE_ID + 6n} (seller ${BASE_ID + 106n}, 42 minor units, PENDING) is not in the file`,
    );
  });

  it('catches a payout whose amount in the database differs from the file', async () => {
    const { db, file } = await releasedFile();
    await db('payout')
      .where({ id: (BASE_ID + 4n).toString() })
      .update({ amount_minor: '4006' });
    const result = await verifyPayoutFile(file, db);
    expect(failed(result)).toEqual(['db-payouts']);
    expect(detail(result, 'db-payouts')).toContain(
      `payout ${BASE_ID + 4n}: the database has amount_minor 4006 where the file has 4005`,
    );
  });
});
