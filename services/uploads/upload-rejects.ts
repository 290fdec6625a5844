import type { Knex } from 'knex';
import { stringify } from 'csv-stringify/sync';
import { NotFoundError } from '../../runtime/errors';

/**
 * The rejected rows of an upload as CSV: row_number, reason_code, message, original_line. Every
 * cell that a spreadsheet would evaluate (leading =, +, -, @, tab or CR) is prefixed with a single
 * quote (OWASP's CSV-injection advice), so opening the export in Excel runs nothing. The rows are
 * read in pages, so a million rejects never sit in memory at once.
 */
export const REJECTS_HEADER = ['row_number', 'reason_code', 'message', 'original_line'];

export async function* rejectsCsv(db: Knex, uploadId: bigint, pageSize = 5000): AsyncGenerator<string> {
  const exists = await db('upload').where({ id: uploadId.toString() }).first('id');
  if (!exists) throw new NotFoundError('upload', uploadId.toString());
  yield stringify([REJECTS_HEADER]);
  let after = '0';
  for (;;) {
    const page = (await db('upload_reject')
      .select('row_number', 'reason_code', 'message', 'raw')
      .where('upload_id', uploadId.toString())
      .andWhere('row_number', '>', after)
      .orderBy('row_number')
      .limit(pageSize)) as Array<{ row_number: string; reason_code: string; message: string; raw: string }>;
    if (page.length === 0) return;
    yield stringify(page.map((r) => [r.row_number, r.reason_code, r.message, r.raw].map(neutralise)));
    after = page[page.length - 1]!.row_number;
  }
}

/** A leading formula character is defused; the value is otherwise kept exactly. */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}
