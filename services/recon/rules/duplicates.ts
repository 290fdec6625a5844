import { intList } from '../../../runtime/db/int-list';
import { capped, idFloorAt, idsFromEntities, rows } from '../recon-sql';
import type { Finding, ReconRule, RuleContext } from '../recon-types';

/**
 * Rule 3 (docs/DESIGN.md, lesson 1): no id minted twice, no business key stored twice, no order
 * counted twice.
 *
 * - Keys: billing_item's primary key and uq_billing_item_source, and payout's, make an in-table
 *   duplicate impossible, so the rule checks that those unique keys still exist (a migration to
 *   another engine can drop one silently) instead of re-scanning what the keys already forbid.
 *   Only when one is missing does it scan for the duplicates the key would have refused.
 * - Ids: snowflake ids are unique across tables, so the same id in billing_item, payout and upload
 *   means two generators minted it (the incident of lesson 1). Ids minted in the recent window are
 *   joined by primary key: a PK range on one side, eq_ref on the other.
 * - Orders: more than one ORDER_INCOME item for a (region, order_id) pays an order twice, for
 *   instance when upstream re-sent a completion under a new event id. The orders of ORDER_INCOME
 *   items minted in the window (PK range) are recounted over all time through ix_billing_item_order.
 */
export const RULE = 'duplicates';

const REQUIRED_KEYS: Array<{ table: string; columns: string; scan?: string }> = [
  {
    table: 'billing_item',
    columns: 'id',
    scan: `SELECT CAST(id AS CHAR) AS k, COUNT(*) AS n FROM billing_item GROUP BY id HAVING COUNT(*) > 1 LIMIT ?`,
  },
  {
    table: 'billing_item',
    columns: 'region,source,source_ref',
    scan: `SELECT CONCAT(region, '/', source, '/', source_ref) AS k, COUNT(*) AS n FROM billing_item GROUP BY region, source, source_ref HAVING COUNT(*) > 1 LIMIT ?`,
  },
  { table: 'payout', columns: 'id' },
  { table: 'payout', columns: 'region,cycle_id,shop_user_id,currency' },
];

/**
 * STRAIGHT_JOIN keeps the candidate orders as the driving table: the window is what makes the
 * rule incremental, and when it happens to cover most of a small table the optimizer would rather
 * scan billing_item whole and probe the candidates, which at production size reads everything.
 */
export const ORDER_TWICE_SQL = (candidates: string) => `
SELECT STRAIGHT_JOIN b.region, CAST(b.order_id AS CHAR) AS order_id, COUNT(*) AS n,
       GROUP_CONCAT(b.source, ':', b.source_ref ORDER BY b.id SEPARATOR ', ') AS refs
  FROM (${candidates}) o
  JOIN billing_item b ON b.order_id = o.order_id AND b.item_type = 'ORDER_INCOME'
 GROUP BY b.region, b.order_id HAVING COUNT(*) > 1
 LIMIT ?`;

/** The orders of ORDER_INCOME items minted since the bound: a primary-key range. */
export const RECENT_ORDERS_SQL = `SELECT DISTINCT r.order_id FROM billing_item r WHERE r.id >= ? AND r.item_type = 'ORDER_INCOME' AND r.order_id IS NOT NULL`;

/** Orders named by open findings, re-checked whatever their age. */
const LISTED_ORDERS_SQL = (ids: bigint[]) =>
  `SELECT order_id FROM billing_item WHERE order_id IN (${intList(ids)}) GROUP BY order_id`;

const ID_COLLISIONS_SQL = (p: string, u: string) => `
SELECT CAST(p.id AS CHAR) AS id, 'payout' AS a, 'billing_item' AS b FROM payout p JOIN billing_item i ON i.id = p.id WHERE ${p}
UNION ALL
SELECT CAST(u.id AS CHAR), 'upload', 'billing_item' FROM upload u JOIN billing_item i ON i.id = u.id WHERE ${u}
UNION ALL
SELECT CAST(u.id AS CHAR), 'upload', 'payout' FROM upload u JOIN payout p ON p.id = u.id WHERE ${u}
 LIMIT ?`;

export const duplicates: ReconRule = {
  name: RULE,
  description:
    'unique keys in place; no id in two tables; no order counted twice (one ORDER_INCOME per region and order)',
  async check(ctx) {
    const limit = ctx.options.maxFindingsPerCheck;
    return [
      ...(await missingKeys(ctx)),
      ...capped(await idCollisions(ctx), limit, RULE, 'id', 'CRITICAL'),
      ...capped(await ordersTwice(ctx), limit, RULE, 'order', 'CRITICAL'),
    ];
  },
};

async function missingKeys(ctx: RuleContext): Promise<Finding[]> {
  const keys = await rows<{ tbl: string; non_unique: string | number; cols: string }>(
    ctx.db,
    `SELECT TABLE_NAME AS tbl, MAX(NON_UNIQUE) AS non_unique, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS cols
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('billing_item', 'payout')
      GROUP BY TABLE_NAME, INDEX_NAME`,
  );
  const unique = new Set(
    keys.filter((k) => Number(k.non_unique) === 0).map((k) => `${k.tbl}(${k.cols})`),
  );
  const out: Finding[] = [];
  for (const key of REQUIRED_KEYS) {
    const name = `${key.table}(${key.columns})`;
    if (unique.has(name)) continue;
    out.push({
      rule: RULE,
      severity: 'CRITICAL',
      entity: `schema/${name}`,
      detail: `no unique key on ${name}: the database no longer refuses a duplicate there; restore it (migrations 0001/0003)`,
    });
    if (!key.scan) continue;
    // A full scan, on purpose: without the key no index can answer "which values repeat".
    const dups = await rows<{ k: string; n: string | number }>(ctx.db, key.scan, [
      ctx.options.maxFindingsPerCheck + 1,
    ]);
    const found = dups.map((d): Finding => ({
      rule: RULE,
      severity: 'CRITICAL',
      entity: `${key.table}/${d.k}`,
      detail: `${name} ${d.k} is stored ${d.n} times`,
    }));
    out.push(...capped(found, ctx.options.maxFindingsPerCheck, RULE, `${key.table}`, 'CRITICAL'));
  }
  return out;
}

async function idCollisions(ctx: RuleContext): Promise<Finding[]> {
  const floor = idFloorAt(new Date(ctx.now.getTime() - ctx.options.recentWindowMs));
  const reopen = idsFromEntities(ctx.open.keys(), 'id/');
  const cond = (col: string) =>
    `(${col} >= ${floor}${reopen.length ? ` OR ${col} IN (${intList(reopen)})` : ''})`;
  const found = await rows<{ id: string; a: string; b: string }>(
    ctx.db,
    ID_COLLISIONS_SQL(cond('p.id'), cond('u.id')),
    [ctx.options.maxFindingsPerCheck + 1],
  );
  const byId = new Map<string, Set<string>>();
  for (const f of found) byId.set(f.id, new Set([...(byId.get(f.id) ?? []), f.a, f.b]));
  return [...byId].map(([id, tables]) => ({
    rule: RULE,
    severity: 'CRITICAL',
    entity: `id/${id}`,
    detail: `id ${id} exists in ${[...tables].sort().join(' and ')}: two id generators minted it (check worker leases, lesson 1)`,
  }));
}

async function ordersTwice(ctx: RuleContext): Promise<Finding[]> {
  const limit = ctx.options.maxFindingsPerCheck + 1;
  const floor = idFloorAt(new Date(ctx.now.getTime() - ctx.options.recentWindowMs));
  const found = await rows<{ region: string; order_id: string; n: string | number; refs: string }>(
    ctx.db,
    ORDER_TWICE_SQL(RECENT_ORDERS_SQL),
    [floor, limit],
  );
  const reopen = idsFromEntities(ctx.open.keys(), '/order/');
  if (reopen.length > 0)
    found.push(
      ...(await rows<(typeof found)[number]>(ctx.db, ORDER_TWICE_SQL(LISTED_ORDERS_SQL(reopen)), [
        limit,
      ])),
    );
  const seen = new Map<string, Finding>();
  for (const f of found) {
    const entity = `${f.region}/order/${f.order_id}`;
    seen.set(entity, {
      rule: RULE,
      severity: 'CRITICAL',
      entity,
      detail: `order ${f.order_id} has ${f.n} ORDER_INCOME items (${f.refs.slice(0, 600)}): it is counted ${f.n} times`,
    });
  }
  return [...seen.values()];
}
