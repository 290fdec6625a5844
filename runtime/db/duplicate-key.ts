/**
 * ER_DUP_ENTRY (1062) on one named unique key. Why a named key: code that treats "already there"
 * as success must not also swallow a duplicate on some other key, which would be a different
 * fact. MariaDB names the key `'PRIMARY'`, MySQL 8 `'table.PRIMARY'`.
 *
 * This is what replaces INSERT IGNORE here: IGNORE turns every error of the statement into a
 * warning, so a value too long for its column was truncated, and the truncated row then dropped
 * as a "duplicate" of another.
 */
export function isDuplicateKey(err: unknown, key: string): boolean {
  const e = err as { errno?: unknown; sqlMessage?: unknown; message?: unknown } | null;
  if (e?.errno !== 1062) return false;
  const text = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message);
  const named = /for key '([^']*)'\s*$/.exec(text)?.[1];
  return named === key || named?.endsWith(`.${key}`) === true;
}
