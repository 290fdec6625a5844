import { Readable } from 'node:stream';
import fc from 'fast-check';
import { formatMinorAmount } from '../../runtime/money/decimal-amount';
import { REGIONS } from '../../runtime/money/regions';
import { CsvRecordSplitter, type SplitRecord } from '../../runtime/csv/csv-record-splitter';
import { parseOne, parseRows } from '../../runtime/csv/csv-fields';
import { rowValidator, type RejectCode, type ValidRow } from '../../processors/upload-ingestion/row-validator';
import { checkHeader, ITEM_TYPES } from '../../contracts/upload-file';
import { useTestResources } from '../fixtures/resources';
import { startIngestion, uploadInto, uploadSetup, waitForUpload, type UploadSetup } from '../fixtures/upload-harness';
import { fuzzParams } from './fuzz-runs';

/**
 * Generated upload files against the row boundary: quotes (escaped, stray, multi-line), a BOM,
 * control characters, NUL, Unicode and look-alike codes, huge and empty fields, LF/CRLF mixes,
 * blank lines, shuffled mixed-case headers with unknown columns. Each generated row knows what it
 * must become, and the invariant is checked row by row:
 *   - every data row is counted exactly once, under its row number in the generated file;
 *   - a row built only from valid values is accepted with exactly the values written;
 *   - a row with one hostile element is rejected with that element's reason code.
 * The first property runs the exact splitting, parsing and validation functions intake and
 * ingestion use, read in random piece sizes; the second sends fewer files through the real
 * intake, chunk topic, upload-ingestion processor and MariaDB.
 */
const r = useTestResources();
const COLUMNS = ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type', 'order_id', 'memo'] as const;
type Column = (typeof COLUMNS)[number];
type Expect = { ok: true; row: ValidRow } | { ok: false; code: RejectCode };
interface GenRow {
  /** The line's text without its line end; null for a row made of spaces only. */
  values: Record<Column, string> & { extra: string };
  /** How each value is written: quoted, or as is (only for values that need no quoting). */
  quoted: Record<Column | 'extra', boolean>;
  /** A stray quote is put into this column's unquoted text, at this position (>= 1). */
  stray: { column: Column; at: number } | null;
  spacesOnly: boolean;
  expect: Expect;
}

const MAX_ITEM = 10n ** 16n - 1n;
/** Starts every generated ref; the real-stack runs swap it for a unique one per run. */
const PREFIX = 'Zq9Pfx';
const regionArb = fc.constantFrom(...Object.values(REGIONS));
const asciiCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const sellerArb = fc.bigInt({ min: 100000000000000000n, max: 999999999999999999n });
const memoChars = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('"', '""', ',', '\n', '\r\n', '\t', ' ', '5" screen', 'é', '😀', '👨‍👩‍👧', '中文', '\u2028', '=1+2', 'a\rb'),
);
const validMemo = fc
  .array(memoChars, { maxLength: 6 })
  .map((parts) => parts.join(''))
  // eslint-disable-next-line no-control-regex -- the memo rule's forbidden controls, read independently
  .filter((m) => ![...m].some((c) => /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(c)) && [...m].length <= 255);
const refTail = fc.constantFrom('', 'é', '😀', '中文', ' inner space', ',comma', '"quote"', '-x_y', '#1');

/** One row: valid values, then at most one hostile element with the reason it must produce. */
function rowArb(n: number, prefix: string, small: boolean) {
  const valid = fc.record({
    region: regionArb,
    regionCase: fc.boolean(),
    seller: sellerArb,
    amount: (small ? fc.bigInt({ min: -100_000n, max: 100_000n }) : fc.oneof(fc.bigInt({ min: -MAX_ITEM, max: MAX_ITEM }), fc.bigInt({ min: -1000n, max: 1000n }), fc.constantFrom(MAX_ITEM, -MAX_ITEM, 1n, -1n))).filter((a) => a !== 0n),
    amountPad: fc.constantFrom('', ' ', '  '),
    plus: fc.boolean(),
    type: fc.constantFrom(...ITEM_TYPES),
    order: fc.option(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), { freq: 2 }),
    memo: fc.oneof(fc.constant(''), validMemo),
    tail: refTail,
    refPad: fc.constantFrom('', ' ', '\t'),
    extra: fc.string({ maxLength: 20 }),
  });
  const quoting = fc.record(Object.fromEntries([...COLUMNS, 'extra'].map((c) => [c, fc.boolean()])) as Record<Column | 'extra', fc.Arbitrary<boolean>>);
  const hostile = fc.option(
    fc.oneof(
      fc.record({ column: fc.constant<Column>('external_ref'), value: fc.constantFrom('', '   '), code: fc.constant<RejectCode>('MISSING_FIELD') }),
      fc.record({ column: fc.constant<Column>('external_ref'), value: fc.constant('r'.repeat(129)), code: fc.constant<RejectCode>('REF_TOO_LONG') }),
      fc.record({ column: fc.constant<Column>('external_ref'), value: fc.constantFrom('a\u0000b', 'a\rb', 'a\u202eb', 'a\u200bb', 'a\u007fb', 'a\u0085b', 'a\u2028b', 'a\u001bb', 'a\nb'), code: fc.constant<RejectCode>('CONTROL_CHARACTER') }),
      fc.record({ column: fc.constant<Column>('shop_user_id'), value: fc.constantFrom('0', '-1', '9223372036854775808', '1e5', '１２', '12 34', '0x10', '+5'), code: fc.constant<RejectCode>('INVALID_ID') }),
      fc.record({ column: fc.constant<Column>('region'), value: fc.constantFrom('ſg', 'ıd', 'ＳＧ', 'S\u200bG', 'XX', 'S G', 'SGP'), code: fc.constant<RejectCode>('UNKNOWN_REGION') }),
      fc.record({ column: fc.constant<Column>('currency'), value: fc.constantFrom('ſGD', 'XXX', 'sg d'), code: fc.constant<RejectCode>('CURRENCY_MISMATCH') }),
      fc.record({ column: fc.constant<Column>('amount'), value: fc.constantFrom('1e3', '1,000', '$5', '--1', '１'), code: fc.constant<RejectCode>('INVALID_AMOUNT') }),
      fc.record({ column: fc.constant<Column>('amount'), value: fc.constantFrom('0', '-0', '+0', ' 0 '), code: fc.constant<RejectCode>('ZERO_AMOUNT') }),
      fc.record({ column: fc.constant<Column>('amount'), value: fc.constantFrom('__OOB__', '__OOB_NEG__'), code: fc.constant<RejectCode>('AMOUNT_OUT_OF_BOUNDS') }),
      fc.record({ column: fc.constant<Column>('item_type'), value: fc.constantFrom('ADJUſTMENT', 'SUBSıDY', 'FOO', 'PENALTY\u200b'), code: fc.constant<RejectCode>('UNKNOWN_ITEM_TYPE') }),
      fc.record({ column: fc.constant<Column>('memo'), value: fc.constantFrom('m'.repeat(256), '😀'.repeat(256)), code: fc.constant<RejectCode>('MEMO_TOO_LONG') }),
      fc.record({ column: fc.constant<Column>('memo'), value: fc.constantFrom('a\u0000b', 'x\u0085', '\u0007bell', 'del\u007f'), code: fc.constant<RejectCode>('CONTROL_CHARACTER') }),
      fc.record({ column: fc.constant<Column>('memo'), value: fc.constant('x'.repeat(70_000)), code: fc.constant<RejectCode>('ROW_TOO_LARGE') }),
      fc.record({ column: fc.constantFrom<Column>('memo', 'external_ref', 'amount', 'item_type'), value: fc.constant('__STRAY__'), code: fc.constant<RejectCode>('CSV_MALFORMED') }),
      fc.record({ column: fc.constant<Column>('memo'), value: fc.constant('__SPACES__'), code: fc.constant<RejectCode>('COLUMN_COUNT') }),
    ),
    { freq: 2 },
  );
  return fc.record({ v: valid, quoted: quoting, hostile, strayAt: fc.nat() }).map(({ v, quoted, hostile, strayAt }): GenRow => {
    const ref = `${prefix}-${n}${v.tail}`;
    // Runs that share a database name an order only for the seller of the same id, so an order
    // never belongs to two sellers across runs (that would be a SELLER_MISMATCH by design).
    if (small && v.order !== null) v.order = v.seller;
    const region = v.regionCase ? v.region.region : v.region.region.toLowerCase();
    const amountText = `${v.amountPad}${v.plus && v.amount > 0n ? '+' : ''}${formatMinorAmount(v.amount, v.region.exponent)}${v.amountPad}`;
    const values: GenRow['values'] = {
      external_ref: `${v.refPad}${ref}${v.refPad}`,
      shop_user_id: v.seller.toString(),
      region,
      currency: v.regionCase ? v.region.currency : v.region.currency.toLowerCase(),
      amount: amountText,
      item_type: v.type.toLowerCase(),
      order_id: v.order === null ? '' : v.order.toString(),
      memo: v.memo,
      extra: v.extra,
    };
    let stray: GenRow['stray'] = null;
    let spacesOnly = false;
    let expect: Expect = {
      ok: true,
      row: { externalRef: ref, shopUserId: v.seller, region: v.region.region, currency: v.region.currency, amountMinor: v.amount, itemType: v.type, orderId: v.order, memo: v.memo === '' ? null : v.memo },
    };
    if (hostile) {
      expect = { ok: false, code: hostile.code };
      if (hostile.value === '__STRAY__') {
        // A quote inside an unquoted field: the value must be one that needs no quoting.
        const plain = 'plain value';
        values[hostile.column] = plain;
        stray = { column: hostile.column, at: 1 + (strayAt % plain.length) };
      } else if (hostile.value === '__SPACES__') spacesOnly = true;
      // One minor unit past the item bound, written in the region's own exponent.
      else if (hostile.value === '__OOB__') values.amount = formatMinorAmount(MAX_ITEM + 1n, v.region.exponent);
      else if (hostile.value === '__OOB_NEG__') values.amount = formatMinorAmount(-(MAX_ITEM + 1n), v.region.exponent);
      else values[hostile.column] = hostile.value;
    }
    return { values, quoted, stray, spacesOnly, expect };
  });
}

/** Quoting a value is needed when it holds a quote, a comma, a line break or a CR. */
const needsQuotes = (v: string) => /[",\n\r]/.test(v);
const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;

function writeRow(g: GenRow, order: Array<Column | 'extra'>): string {
  if (g.spacesOnly) return '   ';
  return order
    .map((c) => {
      const v = c === 'extra' ? g.values.extra : g.values[c];
      if (g.stray && c === g.stray.column) return `${v.slice(0, g.stray.at)}"${v.slice(g.stray.at)}`;
      return g.quoted[c] || needsQuotes(v) ? quote(v) : v;
    })
    .join(',');
}

/**
 * `small`: for runs that share one database: amounts far inside the bounds, so a seller's balance
 * never nears the payout bound however many runs (and shrinks) reuse its id, and order ids tied to
 * their seller.
 */
const fileArb = (prefix: string, small = false) =>
  fc
    .record({
      count: fc.integer({ min: 1, max: 40 }),
      order: fc.shuffledSubarray([...COLUMNS, 'extra'] as Array<Column | 'extra'>, { minLength: 9, maxLength: 9 }),
      headerCase: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
      bom: fc.boolean(),
      seed: fc.nat(),
    })
    .chain(({ count, order, headerCase, bom, seed }) =>
      fc.record({
        rows: fc.tuple(...Array.from({ length: count }, (_, i) => rowArb(i + 1, `${prefix}${seed}`, small))),
        ends: fc.array(fc.constantFrom('\n', '\r\n', '\n\n', '\r\n\r\n', '\n\r\n'), { minLength: count, maxLength: count }),
        lastEnd: fc.boolean(),
        header: fc.tuple(...order.map((c, i) => asciiCase(c === 'extra' ? 'Notes' : c).map((name) => (headerCase[i]! ? ` ${name} ` : name)))),
        order: fc.constant(order),
        bom: fc.constant(bom),
      }),
    )
    .map(({ rows, ends, lastEnd, header, order, bom }) => {
      let text = (bom ? '\ufeff' : '') + header.join(',') + '\r\n';
      rows.forEach((g, i) => (text += writeRow(g, order) + (i < rows.length - 1 || lastEnd ? ends[i]! : '')));
      return { rows, bytes: Buffer.from(text, 'utf8') };
    });

async function split(bytes: Buffer, sizes: number[]): Promise<SplitRecord[]> {
  const pieces: Buffer[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  const out: SplitRecord[] = [];
  for await (const rec of Readable.from(pieces).pipe(new CsvRecordSplitter())) out.push(rec as SplitRecord);
  return out;
}

type Outcome = { ok: true; row: ValidRow } | { ok: false; code: string; message: string };

/** What intake and ingestion decide for each data row, by the functions they use. */
function decide(records: SplitRecord[]): { columns: string[]; rows: Array<{ rowNumber: number; outcome: Outcome }> } {
  const [head, ...data] = records;
  if (!head || !('raw' in head)) throw new Error('the header did not split');
  const header = parseOne(head.raw);
  if (!header.ok) throw new Error(`the header did not parse: ${header.message}`);
  const check = checkHeader(header.fields);
  expect(check.missing).toEqual([]);
  const validate = rowValidator(check.columns);
  const raws = data.filter((d): d is Extract<SplitRecord, { raw: string }> => 'raw' in d);
  const parsed = parseRows(raws.map((d) => d.raw));
  const byRecord = new Map(raws.map((d, i) => [d, parsed[i]!]));
  return {
    columns: check.columns,
    rows: data.map((d) => {
      if (!('raw' in d)) return { rowNumber: d.index, outcome: { ok: false, code: d.problem, message: '' } };
      const p = byRecord.get(d)!;
      if (!p.ok) return { rowNumber: d.index, outcome: { ok: false, code: 'CSV_MALFORMED', message: p.message } };
      const verdict = validate(p.fields);
      return { rowNumber: d.index, outcome: verdict.ok ? verdict : { ok: false, code: verdict.code, message: verdict.message } };
    }),
  };
}

const summary = (o: Outcome | Expect) => (o.ok ? { ok: true, row: o.row } : { ok: false, code: o.code });

describe('upload CSV boundary', () => {
  test('every generated row is decided once, under its own number, exactly as it was written', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb(PREFIX), fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 6 }), async ({ rows, bytes }, sizes) => {
        const { rows: decided } = decide(await split(bytes, sizes));
        expect(decided.map((d) => d.rowNumber)).toEqual(rows.map((_, i) => i + 1));
        decided.forEach((d, i) => expect([i + 1, summary(d.outcome)]).toEqual([i + 1, summary(rows[i]!.expect)]));
        for (const d of decided) if (!d.outcome.ok) expect(typeof d.outcome.code).toBe('string');
      }),
      fuzzParams('csv split+parse+validate'),
    );
  }, 120_000);

  describe('through the real intake, chunk topic and ingestion', () => {
    let s: UploadSetup;
    beforeAll(async () => {
      s = await uploadSetup(r, 3);
      await startIngestion(r, s);
    }, 60_000);

    test('accepted, duplicate and rejected add up to every row; the database holds exactly the accepted values', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fileArb(PREFIX, true), fc.boolean(), async ({ rows, bytes: generated }, repeatOne) => {
          run++;
          // Refs are unique per run; a repeated valid row must count as a duplicate.
          const unique = r.unique(`r${run}`);
          let bytes = Buffer.from(generated.toString('utf8').replaceAll(PREFIX, unique), 'utf8');
          const expected = rows.map((g) => (g.expect.ok ? { ...g.expect, row: { ...g.expect.row, externalRef: g.expect.row.externalRef.replace(PREFIX, unique) } } : g.expect));
          const firstValid = expected.findIndex((e) => e.ok);
          const text = bytes.toString('utf8');
          let duplicates = 0;
          if (repeatOne && firstValid >= 0) {
            // The same line again at the end: one more row, a duplicate of an accepted one.
            const lines = (await split(bytes, [1 << 20])).slice(1);
            const line = lines[firstValid]!;
            if ('raw' in line) {
              bytes = Buffer.from(`${text}${/\n$/.test(text) ? '' : '\n'}${line.raw}\n`, 'utf8');
              duplicates = 1;
            }
          }
          const intake = await uploadInto(s, bytes, { force: true });
          const status = await waitForUpload(s, intake.uploadId, 90_000);
          const accepted = expected.filter((e) => e.ok);
          const rejected = expected.filter((e) => !e.ok);
          const rejects = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() }).select('row_number', 'reason_code', 'message')) as Array<{ row_number: string; reason_code: string; message: string }>;
          expect(Object.fromEntries(rejects.map((x) => [String(x.row_number), `${x.reason_code}`]))).toEqual(
            Object.fromEntries(expected.flatMap((e, i) => (e.ok ? [] : [[String(i + 1), e.code]]))),
          );
          expect(rejects.every((x) => x.message.length > 0)).toBe(true);
          expect({ total: status.totalRows, accepted: status.acceptedRows, rejected: status.rejectedRows, duplicates: status.duplicateRows }).toEqual({
            total: BigInt(rows.length + duplicates),
            accepted: BigInt(accepted.length),
            rejected: BigInt(rejected.length),
            duplicates: BigInt(duplicates),
          });
          const refs = accepted.map((e) => (e.ok ? e.row.externalRef : ''));
          const items = (await s.db('billing_item').where({ source: 'UPLOAD' }).whereIn('source_ref', refs)) as Array<Record<string, string | null>>;
          const byRef = new Map(items.map((i) => [i.source_ref, i]));
          for (const e of accepted) {
            if (!e.ok) continue;
            const item = byRef.get(e.row.externalRef);
            expect([e.row.externalRef, item?.shop_user_id, item?.region, item?.currency, item?.amount_minor, item?.item_type, item?.order_id ?? null, item?.memo ?? null]).toEqual([
              e.row.externalRef,
              e.row.shopUserId.toString(),
              e.row.region,
              e.row.currency,
              e.row.amountMinor.toString(),
              e.row.itemType,
              e.row.orderId === null ? null : e.row.orderId.toString(),
              e.row.memo,
            ]);
          }
          expect(items).toHaveLength(accepted.length);
        }),
        fuzzParams('csv real intake+ingestion', 0.1),
      );
    }, 300_000);
  });
});
