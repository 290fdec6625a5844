import type { Knex } from 'knex';
import { CollationUnsupportedError } from './db-errors';

/**
 * The collation every text column is pinned to: utf8mb4, compared byte for byte, NO PAD. Ids and
 * refs are equal in the database exactly when they are equal in JavaScript. Under the server
 * default (utf8mb4_general_ci) 'abc', 'ABC' and 'abc ' were one key; under utf8mb4_bin (PAD
 * SPACE) 'abc' and 'abc ' still were. A key the JS side saw as new then hit the unique index, and
 * the ledger, finding no row with its exact key, retried the batch forever.
 *
 * MariaDB names it utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin; the first one the server has wins.
 */
export const BINARY_COLLATIONS = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'] as const;

type Queryable = Pick<Knex, 'raw'>;

export async function binaryCollation(db: Queryable): Promise<string> {
  const [rows] = (await db.raw(
    `SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (${BINARY_COLLATIONS.map(() => '?').join(',')})`,
    [...BINARY_COLLATIONS],
  )) as [Array<{ name: string }>];
  const have = new Set(rows.map((r) => r.name));
  const pick = BINARY_COLLATIONS.find((c) => have.has(c));
  if (!pick) {
    throw new CollationUnsupportedError(BINARY_COLLATIONS);
  }
  return pick;
}
