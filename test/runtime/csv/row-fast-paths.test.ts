import { Readable } from 'node:stream';
import { sellerPartition } from '../../../services/uploads/upload-intake';
import { CsvRecordSplitter, type SplitRecord } from '../../../runtime/csv/csv-record-splitter';
import { fieldAt, parseOne, parseRows } from '../../../runtime/csv/csv-fields';

/**
 * The cheap paths of intake and ingestion must decide exactly what the general ones decide: a
 * quote-free row split on commas, a seller's partition by digits, and records found across any
 * read boundaries.
 */
describe('row fast paths', () => {
  test('a quote-free row is read exactly as csv-parse reads it', () => {
    const rows = ['a,b,c', 'a,,c,', ',', ' spaced , out ', 'cr\rinside,x', 'tab\there', '\ufeffbom-like,1', '#not-a-comment,2', '😀,é,中文', 'single', ' '];
    expect(parseRows(rows)).toEqual(rows.map(parseOne));
  });

  test('quoted rows among plain ones keep their place, and only the malformed one is rejected', () => {
    const rows = ['x,1', '"a,b",2', 'y,3', '"bad"quote,4', '"multi\nline",5'];
    const parsed = parseRows(rows);
    expect(parsed[0]).toEqual({ ok: true, fields: ['x', '1'] });
    expect(parsed[1]).toEqual({ ok: true, fields: ['a,b', '2'] });
    expect(parsed[2]).toEqual({ ok: true, fields: ['y', '3'] });
    expect(parsed[3]!.ok).toBe(false);
    expect(parsed[4]).toEqual({ ok: true, fields: ['multi\nline', '5'] });
  });

  test('one field is read exactly as the whole record is parsed, quoted or not', () => {
    const rows = ['a,b,c', 'a,,c,', ' spaced , out ', '"a,b",2,"x""y"', '"multi\nline",5', 'single', '"bad"quote,4', '5" screen,1'];
    for (const raw of rows) {
      const whole = parseOne(raw);
      for (let column = 0; column < 5; column++) expect(fieldAt(raw, column)).toBe(whole.ok ? (whole.fields[column] ?? null) : null);
    }
  });

  test("a row goes to the partition BigInt(seller) % partitions names, 18- and 19-digit ids included", () => {
    const sellers = ['652024209997893632', '652024209997893633', '9223372036854775807', '1', ' 42 ', '"652024209997893634"'];
    for (const partitions of [1, 6, 12, 7]) {
      for (const s of sellers) {
        const digits = s.replace(/[" ]/g, '');
        expect(sellerPartition(`ref,${s},SG`, 1, partitions)).toBe(Number(BigInt(digits) % BigInt(partitions)));
      }
    }
    for (const bad of ['', 'abc', '-1', '12345678901234567890', '1e5', '"unclosed']) expect(sellerPartition(`ref,${bad},SG`, 1, 6)).toBe(0);
    expect(sellerPartition('only-one-field', 1, 6)).toBe(0);
  });

  test('records are the same whatever the read boundaries fall on', async () => {
    const text = Buffer.concat([
      Buffer.from('\ufeffh1,h2\r\n'),
      Buffer.from('plain,1\n"quoted, comma",2\r\n"multi\nline ""escaped""",3\n\n'),
      Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2c, 0x34, 0x0a]), // invalid UTF-8
      Buffer.from(`${'x'.repeat(300)},5\n`), // larger than maxRecordBytes below
      Buffer.from('last,"never closed\n'),
    ]);
    const opts = { maxRecordBytes: 100, sampleBytes: 16 };
    const split = async (pieces: Buffer[]) => {
      const out: SplitRecord[] = [];
      for await (const r of Readable.from(pieces).pipe(new CsvRecordSplitter(opts))) out.push(r as SplitRecord);
      return out;
    };
    const whole = await split([text]);
    expect(whole.map((r) => ('raw' in r ? r.raw : r.problem))).toEqual([
      'h1,h2',
      'plain,1',
      '"quoted, comma",2',
      '"multi\nline ""escaped""",3',
      'INVALID_ENCODING',
      'ROW_TOO_LARGE',
      'UNCLOSED_QUOTE',
    ]);
    for (const size of [1, 2, 3, 5, 7, 64, 101]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.subarray(i, i + size));
      expect(await split(pieces)).toEqual(whole);
    }
  });
});
