import { Readable } from 'node:stream';
import type { Knex } from 'knex';

/**
 * Rows into a table with `LOAD DATA LOCAL INFILE`, streamed from memory on the caller's
 * transaction connection. Why: a multi-row INSERT is SQL the server must lex and parse value by
 * value; LOAD DATA reads tab-separated fields. For a 1M-row upload that parse was about a fifth
 * of the server's CPU, and building and escaping the SQL text was the largest allocation in the
 * ingestion process.
 *
 * Two server behaviours callers must handle:
 *   - LOCAL implies IGNORE: the server cannot stop a client's stream midway, so a row whose unique
 *     key exists is skipped with a warning instead of failing the statement. `affectedRows` below
 *     the rows sent says some were skipped; the caller finds out which. IGNORE also overrides the
 *     session's strict mode: a value too long for its column, or not of its type, is cut or
 *     converted with a warning and the row is written. `warnings` counts both kinds, so a caller
 *     must fail unless it equals the rows it knows were skipped (one warning each); the ledger
 *     does (STS_LEDGER_WRITE_ALTERED, test/runtime/db/strict-writes.test.ts).
 *   - The capability can be off, on the server (`local_infile=OFF`) or the client (no LOCAL_FILES
 *     flag). Then bulkLoad returns null, remembers it for the pool, and the caller writes with
 *     INSERT instead.
 *
 * The file name in the statement is never opened: the stream factory ignores what the server asks
 * for and returns only the rows given here.
 */
export interface BulkLoadResult {
  affectedRows: number;
  warnings: number;
  /** The first three warnings' messages, read straight after the load: the next statement on
   * the connection clears them, so a caller that reads first would find none. */
  warningSamples: string[];
}

/** Refusal errors: MariaDB's 4166, MySQL's 1148, 3948 (client) and 3950 (server). */
const REFUSED = new Set([4166, 1148, 3948, 3950]);
/** Stream pieces stay far under the 16 MiB protocol packet. */
const PIECE_BYTES = 1 << 20;

/** Pools (by their knex config object, shared by a pool's transactions) whose server refused. */
const refusedPools = new WeakSet<object>();

export async function bulkLoad(
  trx: Knex.Transaction,
  table: string,
  columns: readonly string[],
  tsv: string,
): Promise<BulkLoadResult | null> {
  const pool = trx.client.config as object;
  if (refusedPools.has(pool)) return null;
  const data = Buffer.from(tsv, 'utf8');
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += PIECE_BYTES)
    pieces.push(data.subarray(at, at + PIECE_BYTES));
  try {
    const [header] = (await trx
      .raw(
        `LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE ${table} CHARACTER SET utf8mb4 (${columns.join(', ')})`,
      )
      .options({ infileStreamFactory: () => Readable.from(pieces) })) as [
      { affectedRows: number; warningStatus: number },
    ];
    let warningSamples: string[] = [];
    if (header.warningStatus > 0) {
      const [rows] = (await trx.raw('SHOW WARNINGS LIMIT 3')) as [Array<{ Message: string }>];
      warningSamples = rows.map((w) => w.Message);
    }
    return { affectedRows: header.affectedRows, warnings: header.warningStatus, warningSamples };
  } catch (err) {
    if (!REFUSED.has((err as { errno?: number }).errno ?? 0)) throw err;
    refusedPools.add(pool);
    return null;
  }
}

/**
 * One field in LOAD DATA's default text format (tab-separated, backslash escapes, `\N` for NULL).
 * Only text needs it: integers never hold a tab, a newline or a backslash.
 */
export function tsvField(value: string | null): string {
  if (value === null) return '\\N';
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value;
}

const SPECIAL = /[\\\t\n\r\0]/;
const SPECIAL_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};
