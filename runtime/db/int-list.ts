/**
 * An SQL list of integer literals for `col IN (...)` on a BIGINT column.
 *
 * Why not bound parameters: knex and mysql2 send a bigint as a quoted string, and MariaDB then
 * compares the BIGINT key with strings, which turns an IN lookup on the primary key into a full
 * index scan (docs/DESIGN.md, lesson 9; EXPLAIN shows type=index instead of range). Every element
 * goes through BigInt, so the list can only ever hold integer literals; nothing else reaches the
 * SQL.
 */
export function intList(ids: Iterable<bigint>): string {
  const parts: string[] = [];
  for (const id of ids) parts.push(int64Literal(id));
  if (parts.length === 0) throw new RangeError('intList needs at least one id');
  return parts.join(',');
}

/**
 * A signed 64-bit integer as SQL text; anything else (a number, a string, a bigint out of range)
 * throws. Compared with the bounds rather than BigInt.asIntN(64, n) === n, which allocates a
 * BigInt per value: the ledger writes five of these per item.
 */
export function int64Literal(n: bigint): string {
  return typeof n === 'bigint' && n <= I64_MAX && n >= I64_MIN ? n.toString() : fail(n);
}

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

function fail(id: bigint): never {
  throw new RangeError(`${id} does not fit a signed 64-bit integer`);
}

/**
 * The longest IN list a statement on a large table should carry. From 1000 values
 * (in_predicate_conversion_threshold) MariaDB rewrites the list into a join with a temporary
 * table and picks the join order from the table's statistics, which lag behind a table that was
 * just emptied or grows fast. In 1M-row upload runs whose server CPU tripled, a third of it was
 * sequential reads and key lookups inside such joins (the seller check's 5000-id lists). Below the
 * threshold the list is a range on the index, and callers also name the index (FORCE INDEX), so
 * no statistics can turn the range into a scan; three runs in a row then cost the same.
 */
export const IN_LIST_MAX = 500;
