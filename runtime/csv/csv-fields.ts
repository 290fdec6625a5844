import { parse } from 'csv-parse/sync';

/**
 * The fields of CSV records, for the upload intake and the ingestion alike, so both read a row the
 * same way. Each record's text is one record, already delimited by the splitter
 * (csv-record-splitter.ts). A record without a double quote has no quoting to undo, so RFC 4180
 * makes its fields exactly the text between commas: a split, about 20x cheaper than csv-parse,
 * which was the largest CPU cost of ingestion. The records that hold a quote are parsed by
 * csv-parse in one call; if that call fails or disagrees on the record count, one of them is
 * malformed, and each is parsed alone so only that record is refused.
 *
 * Quotes: RFC 4180 lets a double quote only open a field. A quote inside an unquoted field
 * (`5" screen`) is refused, for that record alone, never taken as text or as the start of a quoted
 * field: the splitter applies the same rule when it finds the record's end, so such a record never
 * swallows the records after it.
 */
export type ParsedFields = { ok: true; fields: string[] } | { ok: false; message: string };

const OPTIONS = { relax_column_count: true, record_delimiter: '\n', skip_empty_lines: false } as const;

export function parseRows(raws: string[]): ParsedFields[] {
  const out = new Array<ParsedFields>(raws.length);
  const quoted: number[] = [];
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    if (raw.indexOf('"') === -1) out[i] = { ok: true, fields: raw.split(',') };
    else quoted.push(i);
  }
  if (quoted.length > 0) {
    const parsed = parseQuoted(quoted.map((i) => raws[i]!));
    quoted.forEach((i, k) => (out[i] = parsed[k]!));
  }
  return out;
}

function parseQuoted(raws: string[]): ParsedFields[] {
  // A raw that itself contains "\n" does so only inside quotes, where csv-parse keeps it in the field.
  try {
    const records = parse(raws.join('\n'), OPTIONS) as string[][];
    if (records.length === raws.length) return records.map((fields) => ({ ok: true, fields }));
  } catch {
    /* fall through to the per-row path */
  }
  return raws.map(parseOne);
}

/** One record the way csv-parse reads it; exported so tests can hold the fast path to it. */
export function parseOne(raw: string): ParsedFields {
  try {
    const records = parse(raw, OPTIONS) as string[][];
    if (records.length !== 1) return { ok: false, message: `the line holds ${records.length} CSV records` };
    return { ok: true, fields: records[0]! };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'INVALID_OPENING_QUOTE' || code === 'CSV_INVALID_OPENING_QUOTE') {
      return { ok: false, message: 'a double quote inside an unquoted field: quote the whole field and double the quote inside it, e.g. "5"" screen"' };
    }
    if (code === 'CSV_INVALID_CLOSING_QUOTE') {
      return { ok: false, message: 'text follows the closing quote of a quoted field: a quoted field ends at its closing quote, then a comma or the line end' };
    }
    return { ok: false, message: (err as Error).message.split('\n')[0]!.slice(0, 200) };
  }
}

/**
 * One field of a record (`column` counted from 0), read as parseRows() reads it; null when the
 * record is malformed or has no such field. Between commas without building the other fields when
 * the record holds no quote: the intake reads the seller of every row this way.
 */
export function fieldAt(raw: string, column: number): string | null {
  if (raw.indexOf('"') !== -1) {
    const parsed = parseOne(raw);
    return parsed.ok ? (parsed.fields[column] ?? null) : null;
  }
  let from = 0;
  for (let c = 0; c < column; c++) {
    const comma = raw.indexOf(',', from);
    if (comma === -1) return null;
    from = comma + 1;
  }
  const to = raw.indexOf(',', from);
  return raw.slice(from, to === -1 ? raw.length : to);
}
