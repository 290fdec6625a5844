import { parse } from 'csv-parse/sync';

/**
 * Fields of a chunk's rows. Each row's text is one record, already delimited by the intake's
 * splitter, so the fast path parses the whole chunk in one csv-parse call (about 12x faster than a
 * call per row). If that call fails or disagrees on the record count, one malformed row is in the
 * chunk, and each row is parsed alone so only that row is rejected.
 */
export type ParsedFields = { ok: true; fields: string[] } | { ok: false; message: string };

const OPTIONS = { relax_column_count: true, record_delimiter: '\n', skip_empty_lines: false } as const;

export function parseRows(raws: string[]): ParsedFields[] {
  if (raws.length === 0) return [];
  // A raw that itself contains "\n" does so only inside quotes, where csv-parse keeps it in the field.
  try {
    const records = parse(raws.join('\n'), OPTIONS) as string[][];
    if (records.length === raws.length) return records.map((fields) => ({ ok: true, fields }));
  } catch {
    /* fall through to the per-row path */
  }
  return raws.map(parseOne);
}

function parseOne(raw: string): ParsedFields {
  try {
    const records = parse(raw, OPTIONS) as string[][];
    if (records.length !== 1) return { ok: false, message: `the line holds ${records.length} CSV records` };
    return { ok: true, fields: records[0]! };
  } catch (err) {
    return { ok: false, message: (err as Error).message.split('\n')[0]!.slice(0, 200) };
  }
}
