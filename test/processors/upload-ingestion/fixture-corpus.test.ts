import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { UploadRefusedError } from '../../../services/uploads/upload-errors';
import { rejectsCsv } from '../../../services/uploads/upload-rejects';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadInto, uploadSetup, waitForUpload, type UploadSetup } from '../../fixtures/upload-harness';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * The upload contract (docs/DESIGN.md, "Contracts") case by case, end to end: real intake, real
 * chunk topic, the real upload-ingestion processor, real MariaDB. Every case states its exact
 * counts.
 */
const r = useTestResources();
const FIXTURES = path.join(FIXTURES_DIR, 'uploads');
const fixture = (name: string) => path.join(FIXTURES, name);
let s: UploadSetup;

beforeAll(async () => {
  s = await uploadSetup(r);
  await startIngestion(r, s);
}, 60_000);

async function load(source: string | Buffer, opts = {}) {
  const intake = await uploadInto(s, source, opts);
  return { intake, status: await waitForUpload(s, intake.uploadId) };
}

async function rejectsOf(id: bigint): Promise<Record<string, string>> {
  const rows = (await s.db('upload_reject').where({ upload_id: id.toString() }).orderBy('row_number')) as Array<{ row_number: string; reason_code: string }>;
  return Object.fromEntries(rows.map((x) => [x.row_number, x.reason_code]));
}

const counts = (st: { totalRows: bigint; acceptedRows: bigint; rejectedRows: bigint; duplicateRows: bigint; status: string }) => ({
  status: st.status,
  total: st.totalRows,
  accepted: st.acceptedRows,
  rejected: st.rejectedRows,
  duplicates: st.duplicateRows,
});

test('a BOM, CRLF line ends, a reordered mixed-case header and quoted commas and line breaks all load', async () => {
  const { intake, status } = await load(fixture('bom-crlf.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 3n, accepted: 3n, rejected: 0n, duplicates: 0n });
  const items = await s.db('billing_item').where({ source: 'UPLOAD' }).whereIn('source_ref', ['bom-1', 'bom-2', 'bom-3']).orderBy('source_ref');
  expect(items.map((i) => [i.source_ref, i.amount_minor, i.item_type, i.memo])).toEqual([
    ['bom-1', '100', 'ADJUSTMENT', 'fee, waived'],
    ['bom-2', '250', 'SUBSIDY', 'line one\r\nline two'],
    ['bom-3', '-75', 'PENALTY', 'plain'],
  ]);
  expect(intake.existing).toBe(false);
});

test('18-digit shop_user_id and order_id round-trip to the database exactly', async () => {
  const { status } = await load(fixture('ids-18-digit.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 2n, accepted: 2n, rejected: 0n, duplicates: 0n });
  const items = await s.db('billing_item').whereIn('source_ref', ['ids-1', 'ids-2']).orderBy('source_ref');
  expect(items.map((i) => [i.shop_user_id, i.order_id, i.amount_minor])).toEqual([
    ['652024209997893632', '900719925474099317', '1000'],
    ['999999999999999999', '123456789012345678', '1'],
  ]);
  const [{ n }] = (await s.db('billing_item').where({ shop_user_id: '999999999999999999' }).count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(1);
});

test('amounts: "12.3" and "-0.01" and " 7 " load; "1e3", "12.345" SGD, "100.5" VND and "" are rejected', async () => {
  const { intake, status } = await load(fixture('amounts.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 7n, accepted: 3n, rejected: 4n, duplicates: 0n });
  const items = await s.db('billing_item').where({ source: 'UPLOAD' }).whereIn('source_ref', ['amt-1', 'amt-2', 'amt-6']).orderBy('source_ref');
  expect(items.map((i) => i.amount_minor)).toEqual(['1230', '-1', '700']);
  expect(await rejectsOf(intake.uploadId)).toEqual({ '3': 'INVALID_AMOUNT', '4': 'TOO_MANY_DECIMALS', '5': 'TOO_MANY_DECIMALS', '7': 'MISSING_FIELD' });
});

test('an unknown region, a currency of another region and a missing shop_user_id are rejected with reasons', async () => {
  const { intake, status } = await load(fixture('bad-fields.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 4n, accepted: 1n, rejected: 3n, duplicates: 0n });
  expect(await rejectsOf(intake.uploadId)).toEqual({ '1': 'UNKNOWN_REGION', '2': 'CURRENCY_MISMATCH', '3': 'MISSING_FIELD' });
});

test('a ref repeated within the file counts once; the same ref with another amount is a conflict', async () => {
  const { intake, status } = await load(fixture('repeats.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 4n, accepted: 2n, rejected: 1n, duplicates: 1n });
  expect(await rejectsOf(intake.uploadId)).toEqual({ '4': 'CONFLICT' });
  const [{ sum }] = (await s.db('billing_item').whereIn('source_ref', ['rep-1', 'rep-2']).sum({ sum: 'amount_minor' })) as [Record<string, string>];
  expect(String(sum)).toBe('1100');
});

test('re-uploading the same bytes is recognised and writes nothing; --force loads it again as all duplicates', async () => {
  const first = await load(fixture('ids-18-digit.csv'));
  expect(first.intake.existing).toBe(true);
  const before = await s.db('upload').count({ n: '*' });
  const again = await uploadInto(s, fixture('ids-18-digit.csv'));
  expect(again.existing).toBe(true);
  expect(await s.db('upload').count({ n: '*' })).toEqual(before);

  const forced = await load(fixture('ids-18-digit.csv'), { force: true });
  expect(forced.intake.existing).toBe(false);
  expect(counts(forced.status)).toEqual({ status: 'COMPLETED', total: 2n, accepted: 0n, rejected: 0n, duplicates: 2n });
  expect(forced.status.duplicateOf).not.toBeNull();
});

test('a row with bytes that are not UTF-8 is rejected alone; its neighbours load', async () => {
  const { intake, status } = await load(fixture('latin1-row.csv'));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 3n, accepted: 2n, rejected: 1n, duplicates: 0n });
  expect(await rejectsOf(intake.uploadId)).toEqual({ '2': 'INVALID_ENCODING' });
});

test('a 10 MB single line is rejected as too large without holding it, and the rows after it load', async () => {
  const header = 'external_ref,shop_user_id,region,currency,amount,item_type,memo\n';
  const huge = `big-1,652024209997893632,SG,SGD,1.00,ADJUSTMENT,${'x'.repeat(10 * 1024 * 1024)}\n`;
  const after = 'big-2,652024209997893632,SG,SGD,2.00,ADJUSTMENT,after\n';
  const { intake, status } = await load(Buffer.from(header + huge + after));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 2n, accepted: 1n, rejected: 1n, duplicates: 0n });
  expect(await rejectsOf(intake.uploadId)).toEqual({ '1': 'ROW_TOO_LARGE' });
  const kept = await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() }).first();
  expect(kept.raw.length).toBeLessThanOrEqual(1024);
});

test.each([
  ['empty.csv', 'EMPTY_FILE'],
  ['header-only.csv', 'NO_ROWS'],
  ['missing-column.csv', 'MISSING_COLUMNS'],
])('%s is refused whole before anything is written (%s)', async (name, reason) => {
  const uploadsBefore = await s.db('upload').count({ n: '*' });
  const itemsBefore = await s.db('billing_item').count({ n: '*' });
  const err = await uploadInto(s, fixture(name)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadRefusedError);
  expect((err as UploadRefusedError).reason).toBe(reason);
  expect(await s.db('upload').count({ n: '*' })).toEqual(uploadsBefore);
  expect(await s.db('billing_item').count({ n: '*' })).toEqual(itemsBefore);
  const stored = fs.readdirSync(path.join(s.dataDir, 'uploads')).filter((f) => f.endsWith('.csv'));
  const incoming = fs.readdirSync(path.join(s.dataDir, 'uploads', 'incoming'));
  expect(incoming).toEqual([]);
  expect(stored.every((f) => /^[0-9a-f]{64}\.csv$/.test(f))).toBe(true);
});

test('the missing-column refusal names the column', async () => {
  await expect(uploadInto(s, fixture('missing-column.csv'))).rejects.toThrow(/required column\(s\) missing: amount/);
});

test('the rejects export defuses spreadsheet formulas and keeps the original line', async () => {
  const { intake } = await load(fixture('formula.csv'));
  let csv = '';
  for await (const piece of rejectsCsv(s.db, intake.uploadId)) csv += piece;
  const [header, ...rows] = parse(csv) as string[][];
  expect(header).toEqual(['row_number', 'reason_code', 'message', 'original_line']);
  expect(rows.map((row) => [row[0], row[1], row[3]])).toEqual([
    ['1', 'UNKNOWN_REGION', "'=1+2,652024209997893632,XX,SGD,1.00,ADJUSTMENT"],
    ['2', 'UNKNOWN_REGION', "'@SUM(A1),652024209997893632,XX,SGD,1.00,ADJUSTMENT"],
  ]);
  expect(rows.flat().every((cell) => !/^[=+\-@\t\r]/.test(cell))).toBe(true);
});

test('a row naming an order the ledger holds for another seller is rejected, never guessed (lesson 2)', async () => {
  const head = 'external_ref,shop_user_id,region,currency,amount,item_type,order_id\n';
  await load(Buffer.from(`${head}own-1,652024209997893632,SG,SGD,3.00,ADJUSTMENT,710000000000000001\n`));
  const { intake, status } = await load(Buffer.from(`${head}own-2,652024209997893699,SG,SGD,3.00,ADJUSTMENT,710000000000000001\n`));
  expect(counts(status)).toEqual({ status: 'COMPLETED', total: 1n, accepted: 0n, rejected: 1n, duplicates: 0n });
  expect(await rejectsOf(intake.uploadId)).toEqual({ '1': 'SELLER_MISMATCH' });
});

test('accepted rows move the seller balance in the same transaction', async () => {
  const head = 'external_ref,shop_user_id,region,currency,amount,item_type\n';
  await load(Buffer.from(`${head}bal-1,652024209997800001,SG,SGD,3.00,SUBSIDY\nbal-2,652024209997800001,SG,SGD,-1.25,PENALTY\n`));
  const [{ balance }] = (await s.db('settlement_account').where({ shop_user_id: '652024209997800001' }).sum({ balance: 'balance_minor' })) as [Record<string, string>];
  expect(String(balance)).toBe('175');
});
