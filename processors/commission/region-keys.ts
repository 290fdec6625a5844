import type { Knex } from '../../runtime/db/knex';

/**
 * Batch lookups on the commission tables' (region, <column>) keys.
 *
 * A batch names many keys at once, and one statement per batch (not per record) is the whole
 * point of the batch path. The keys are grouped by region into
 *   (region = ? AND col IN (...)) OR (region = ? AND col IN (...)) ...
 * which the range optimizer turns into exact points on the key: nothing but the named keys is
 * read, and a locking read locks nothing but the rows found. A plain `region IN (...) AND col IN
 * (...)` would name every cross pair too, and a locking read of a missing pair takes a gap lock
 * (see charge-store.ts).
 *
 * Bound values keep their type: a bigint id goes to the server as an integer literal, so a BIGINT
 * key is compared as an integer and stays usable (docs/DESIGN.md, lesson 9).
 */
export interface RegionKey<V> {
  region: string;
  value: V;
}

/**
 * Statement size cap, in keys or rows. A sub-batch is 1,000 records by default (at most 50,000),
 * so a default batch costs one statement per lookup; the cap only keeps a huge batch's
 * statements well under max_allowed_packet.
 */
export const KEYS_PER_STATEMENT = 5_000;

/** Adds the grouped key condition to `q`; `keys` must not be empty. */
export function whereRegionKeys<V extends bigint | string>(
  q: Knex.QueryBuilder,
  column: string,
  keys: ReadonlyArray<RegionKey<V>>,
): Knex.QueryBuilder {
  const byRegion = new Map<string, V[]>();
  for (const k of keys) {
    const values = byRegion.get(k.region);
    if (values) values.push(k.value);
    else byRegion.set(k.region, [k.value]);
  }
  return q.where((w) => {
    for (const [region, values] of byRegion) {
      // knex's types omit bigint, but mysql2 binds it as the integer literal it is.
      const list = values as unknown as readonly Knex.Value[];
      w.orWhere((one) => one.where('region', region).whereIn(column, list));
    }
  });
}

/** Splits `items` into slices of at most `size`, in order. */
export function chunked<T>(items: readonly T[], size = KEYS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
