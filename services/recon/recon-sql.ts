import type { Knex } from '../../runtime/db/knex';
import {
  DATACENTER_BITS,
  ID_EPOCH_MS,
  SEQUENCE_BITS,
  WORKER_BITS,
} from '../../runtime/ids/snowflake';
import type { Finding, Severity } from './recon-types';

/**
 * Small helpers the rules share: raw queries with typed bindings, the snowflake id of an instant
 * (for "rows minted since" as a primary-key range), table presence, and capping.
 */

/**
 * Rows of one raw statement. Bindings may be bigint: mysql2 sends a bigint unquoted, so a BIGINT
 * column is compared with a number and its index stays usable (docs/DESIGN.md, lesson 9); knex's
 * types only lack bigint, hence the cast.
 */
export async function rows<T>(
  db: Knex,
  sql: string,
  bindings: ReadonlyArray<string | number | bigint | Date | null> = [],
): Promise<T[]> {
  const [result] = (await db.raw(sql, bindings as unknown as Knex.RawBinding[])) as [T[]];
  return result;
}

/**
 * The smallest snowflake id minted at or after `at`. Ids lead with their mint time, so "rows
 * created since T" on an id-keyed table becomes `id >= idFloorAt(T)`, a primary-key range,
 * without an index on created_at.
 */
export function idFloorAt(at: Date): bigint {
  const ms = BigInt(Math.max(0, at.getTime() - ID_EPOCH_MS));
  return ms << BigInt(SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS);
}

/** Which of `names` exist as tables in the current database. */
export async function existingTables(db: Knex, names: string[]): Promise<Set<string>> {
  const found = await rows<{ name: string }>(
    db,
    `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${names.map(() => '?').join(', ')})`,
    names,
  );
  return new Set(found.map((r) => r.name));
}

/** Ids of open-finding entities that end in `/<digits>` after `marker` (e.g. "payout/"). */
export function idsFromEntities(entities: Iterable<string>, marker: string): bigint[] {
  const out: bigint[] = [];
  for (const e of entities) {
    const i = e.lastIndexOf(marker);
    const tail = i >= 0 ? e.slice(i + marker.length) : '';
    if (/^\d{1,19}$/.test(tail)) {
      const id = BigInt(tail);
      if (BigInt.asIntN(64, id) === id) out.push(id);
    }
  }
  return out;
}

/** `region/cycle` pairs named by open-finding entities that start with them. */
export function cyclesFromEntities(
  entities: Iterable<string>,
): Array<{ region: string; cycleId: bigint }> {
  const seen = new Map<string, { region: string; cycleId: bigint }>();
  for (const e of entities) {
    const m = /^([A-Z]{2})\/(\d{8})(\/|$)/.exec(e);
    if (m) seen.set(`${m[1]}/${m[2]}`, { region: m[1]!, cycleId: BigInt(m[2]!) });
  }
  return [...seen.values()];
}

/**
 * At most `limit` findings, plus one that says how many more there were. Queries ask for
 * limit + 1 rows, so "more" is known without counting them all.
 */
export function capped(
  findings: Finding[],
  limit: number,
  rule: string,
  scope: string,
  severity: Severity,
): Finding[] {
  if (findings.length <= limit) return findings;
  return [
    ...findings.slice(0, limit),
    {
      rule,
      severity,
      entity: `${scope}/more`,
      detail: `more than ${limit} findings in ${scope}; only the first ${limit} are listed (fix those, or raise maxFindingsPerCheck)`,
    },
  ];
}

export const asBig = (v: string | number | null | undefined): bigint =>
  v === null || v === undefined ? 0n : BigInt(v);

/**
 * Bindings of a cycle diff query: the region and cycle once for each of its `scopes` (the
 * statement's subqueries each filter on both), then the row limit.
 */
export function cycleDiffBindings(region: string, cycleId: bigint, scopes: number, limit: number): Array<string | bigint | number> {
  const out: Array<string | bigint | number> = [];
  for (let i = 0; i < scopes; i++) out.push(region, cycleId);
  out.push(limit);
  return out;
}
