import path from 'node:path';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadInto, uploadSetup, waitForUpload, type UploadSetup } from '../../fixtures/upload-harness';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * Upload rows that try to slip past the contract, end to end through the real intake, chunk
 * topic, upload-ingestion processor and MariaDB. Each case states its exact counts, the reason and
 * row number of every reject, and the values of what was accepted.
 */
const r = useTestResources();
const fixture = (name: string) => path.join(FIXTURES_DIR, 'uploads', name);
let s: UploadSetup;

beforeAll(async () => {
  s = await uploadSetup(r);
  await startIngestion(r, s);
}, 60_000);

async function load(source: string | Buffer) {
  const intake = await uploadInto(s, source);
  const status = await waitForUpload(s, intake.uploadId);
  const rejects = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() }).orderBy('row_number')) as Array<{ row_number: string; reason_code: string; message: string; raw: string }>;
  return {
    counts: { status: status.status, total: status.totalRows, accepted: status.acceptedRows, rejected: status.rejectedRows, duplicates: status.duplicateRows },
    rejects: Object.fromEntries(rejects.map((x) => [x.row_number, x.reason_code])),
    rows: rejects,
  };
}

async function items(refs: string[]) {
  const rows = (await s.db('billing_item').where({ source: 'UPLOAD' }).whereIn('source_ref', refs)) as Array<{ source_ref: string; region: string; currency: string; amount_minor: string; item_type: string; memo: string | null }>;
  return new Map(rows.map((i) => [i.source_ref, i]));
}

test('a stray quote inside an unquoted field rejects that row alone; every row after it loads under its own number', async () => {
  const { counts, rejects, rows } = await load(fixture('stray-quote.csv'));
  expect(counts).toEqual({ status: 'COMPLETED', total: 9n, accepted: 5n, rejected: 4n, duplicates: 0n });
  expect(rejects).toEqual({ '2': 'CSV_MALFORMED', '5': 'CSV_MALFORMED', '6': 'CSV_MALFORMED', '8': 'CSV_MALFORMED' });
  expect(rows.find((x) => x.row_number === '2')!.message).toMatch(/double quote inside an unquoted field/);
  expect(rows.find((x) => x.row_number === '2')!.raw).toBe('sq-2,65202420999789363,SG,SGD,1.00,ADJUSTMENT,5" screen');
  const got = await items(['sq-1', 'sq-3', 'sq-4', 'sq-7', 'sq-9']);
  expect([...got.values()].map((i) => [i.source_ref, i.amount_minor, i.memo]).sort()).toEqual([
    ['sq-1', '100', 'before'],
    ['sq-3', '200', 'after one'],
    ['sq-4', '300', 'quoted, fine'],
    ['sq-7', '600', 'line one\nline two "quoted"'],
    ['sq-9', '800', 'last'],
  ]);
});

test('Unicode look-alikes of region, currency and item_type codes are rejected; ASCII lower case still folds', async () => {
  const { counts, rejects } = await load(fixture('lookalike-codes.csv'));
  expect(counts).toEqual({ status: 'COMPLETED', total: 9n, accepted: 2n, rejected: 7n, duplicates: 0n });
  expect(rejects).toEqual({
    '2': 'UNKNOWN_REGION', // "ſg": toUpperCase made it SG
    '3': 'UNKNOWN_ITEM_TYPE', // "ADJUſTMENT"
    '5': 'CURRENCY_MISMATCH', // "ſGD"
    '6': 'UNKNOWN_REGION', // full-width ＳＧ
    '7': 'UNKNOWN_ITEM_TYPE', // "SUBSıDY": toUpperCase made it SUBSIDY
    '8': 'UNKNOWN_REGION', // "ıd": toUpperCase made it ID
    '9': 'UNKNOWN_REGION', // "SG" and a zero-width space
  });
  const got = await items(['lk-1', 'lk-4']);
  expect([got.get('lk-1')?.region, got.get('lk-1')?.currency, got.get('lk-1')?.item_type]).toEqual(['SG', 'SGD', 'ADJUSTMENT']);
  expect([got.get('lk-4')?.region, got.get('lk-4')?.item_type]).toEqual(['TH', 'PENALTY']);
});

test('control characters, NUL, a lone CR, amounts past the item bound and over-long text are rejected row by row; the rest keep their exact values', async () => {
  const { counts, rejects, rows } = await load(fixture('hostile-fields.csv'));
  expect(counts).toEqual({ status: 'COMPLETED', total: 18n, accepted: 7n, rejected: 11n, duplicates: 0n });
  expect(rejects).toEqual({
    '2': 'CONTROL_CHARACTER', // NUL in the ref
    '3': 'CONTROL_CHARACTER', // NUL in the memo
    '4': 'CONTROL_CHARACTER', // a lone CR in the ref (not a line end)
    '6': 'CONTROL_CHARACTER', // U+202E in the ref
    '7': 'AMOUNT_OUT_OF_BOUNDS',
    '9': 'MISSING_FIELD',
    '11': 'CONTROL_CHARACTER', // U+200B in the ref
    '13': 'CONTROL_CHARACTER', // DEL in the ref
    '14': 'CONTROL_CHARACTER', // U+0085 in the memo
    '16': 'MEMO_TOO_LONG',
    '18': 'REF_TOO_LONG',
  });
  expect(rows.find((x) => x.row_number === '2')!.message).toMatch(/external_ref holds U\+0000 at character 5/);
  expect(rows.find((x) => x.row_number === '7')!.message).toMatch(/beyond the SGD item bound of 9999999999999999/);
  const got = await items(['hf-1', 'hf-5', 'hf-8', 'hf-10', 'hf-12', 'hf-15', 'r'.repeat(128)]);
  expect(got.size).toBe(7);
  expect(got.get('hf-1')!.memo).toBe('tab\there');
  expect(got.get('hf-5')!.memo).toBe('lone\rcr');
  expect(got.get('hf-8')!.amount_minor).toBe('9999999999999999');
  expect(got.get('hf-10')!.memo).toBeNull();
  expect([got.get('hf-12')!.currency, got.get('hf-12')!.amount_minor, got.get('hf-12')!.memo]).toEqual(['VND', '-5', '\u{1F468}\u200d\u{1F469} famille é']);
  expect(got.get('hf-15')!.memo).toBe('m'.repeat(255));
});

test('rows after a stray quote keep their numbers across chunk and read boundaries', async () => {
  // 3000 rows, a stray quote every 97th: the old splitter joined each with the rows up to the next quote.
  const head = 'external_ref,shop_user_id,region,currency,amount,item_type,memo\n';
  const ref = r.unique('many');
  let body = '';
  const bad = new Set<number>();
  for (let n = 1; n <= 3000; n++) {
    const stray = n % 97 === 0;
    if (stray) bad.add(n);
    body += `${ref}-${n},652024209997893632,SG,SGD,0.01,ADJUSTMENT,${stray ? '24" monitor' : `row ${n}`}\n`;
  }
  const intake = await uploadInto(s, Buffer.from(head + body), {}, { maxChunkRows: 250 });
  const status = await waitForUpload(s, intake.uploadId);
  expect([status.totalRows, status.acceptedRows, status.rejectedRows]).toEqual([3000n, BigInt(3000 - bad.size), BigInt(bad.size)]);
  const rejected = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() }).pluck('row_number')) as Array<string | number>;
  expect(rejected.map(Number).sort((a, b) => a - b)).toEqual([...bad]);
  const memos = (await s.db('billing_item').where('source_ref', 'like', `${ref}-%`).select('source_ref', 'memo')) as Array<{ source_ref: string; memo: string }>;
  expect(memos).toHaveLength(3000 - bad.size);
  expect(memos.every((m) => m.memo === `row ${m.source_ref.slice(ref.length + 1)}`)).toBe(true);
});

test.each([
  ['a stray quote in a header name', 'external_ref,shop_user_id,region,currency,amount,item"type\n', 'BAD_HEADER', /double quote inside an unquoted field/],
  ['a look-alike of a column name', 'external_ref,ſhop_user_id,region,currency,amount,item_type\n', 'MISSING_COLUMNS', /missing: shop_user_id/],
  ['a column named twice in other cases', 'external_ref,shop_user_id,region,currency,amount,item_type,REGION\n', 'DUPLICATE_COLUMNS', /region/],
])('a header with %s is refused whole before anything is written', async (_what, header, reason, message) => {
  const before = await s.db('upload').count({ n: '*' });
  const err = (await uploadInto(s, Buffer.from(`${header}x-1,652024209997893632,SG,SGD,1.00,ADJUSTMENT,SG\n`)).then(
    () => null,
    (e: unknown) => e,
  )) as { reason?: string; message?: string } | null;
  expect([err?.reason, err?.message]).toEqual([reason, expect.stringMatching(message)]);
  expect(await s.db('upload').count({ n: '*' })).toEqual(before);
});
