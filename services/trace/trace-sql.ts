/**
 * What every trace reader shares. BIGINT keys go into the SQL as integer literals (intList,
 * int64Literal): bound as strings, MariaDB compares the key with text and turns a primary-key
 * lookup into an index scan (docs/DESIGN.md, lesson 9). Text keys are bound parameters.
 */
export { int64Literal, intList, IN_LIST_MAX } from '../../runtime/db/int-list';

export const big = (v: string | number | bigint): bigint => BigInt(v);
export const bigOrNull = (v: string | number | bigint | null | undefined): bigint | null => (v === null || v === undefined ? null : BigInt(v));
export const dateOrNull = (v: Date | string | null | undefined): Date | null => (v === null || v === undefined ? null : new Date(v));

/** `n` placeholders for a bound IN list of text keys. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Splits a list into slices an IN list may carry. */
export function slices<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
