import type { Knex } from '../../../runtime/db/knex';
import { formatMoneyText as money } from '../../../runtime/money/money-text';
import { capped, cycleDiffBindings, cyclesFromEntities, rows } from '../recon-sql';
import type { Finding, ReconRule, RuleContext } from '../recon-types';

/**
 * Rule 1: a CLOSED cycle's billing items add up to its payouts, per seller and currency, and every
 * CARRIED_FORWARD payout reappears as exactly one carry-forward item of the same amount in a later
 * cycle. The close pays what settlement_account says; this re-derives it from the items, the
 * source of truth, so an item edited or slipped in after the close shows up here.
 *
 * Scope: the newest `closedCycleLookback` closed cycles per region, and every cycle with an open
 * finding. Query: one index range over ix_billing_item_cycle (covering, in group order) joined to
 * payout on uq_payout_seller_cycle; the reverse probe (a payout without items) is a ref lookup on
 * the same index. Carry-forward reads payout by uq_payout_seller_cycle and the items by a prefix
 * range on uq_billing_item_source (`source_ref LIKE '<cycle>:%'`).
 */
export const RULE = 'closed-cycle-balance';

export const CLOSED_CYCLE_DIFF_SQL = `
SELECT CAST(i.shop_user_id AS CHAR) AS shop_user_id, i.currency, CAST(i.total AS CHAR) AS items_total, i.n AS item_count,
       CAST(p.id AS CHAR) AS payout_id, CAST(p.amount_minor AS CHAR) AS payout_amount
  FROM (SELECT shop_user_id, currency, SUM(amount_minor) AS total, COUNT(*) AS n
          FROM billing_item WHERE region = ? AND cycle_id = ? GROUP BY shop_user_id, currency) i
  LEFT JOIN payout p ON p.region = ? AND p.cycle_id = ? AND p.shop_user_id = i.shop_user_id AND p.currency = i.currency
 WHERE p.id IS NULL OR p.amount_minor <> i.total
UNION ALL
SELECT CAST(p.shop_user_id AS CHAR), p.currency, NULL, 0, CAST(p.id AS CHAR), CAST(p.amount_minor AS CHAR)
  FROM payout p
 WHERE p.region = ? AND p.cycle_id = ?
   AND NOT EXISTS (SELECT 1 FROM billing_item b
                    WHERE b.region = p.region AND b.cycle_id = p.cycle_id AND b.shop_user_id = p.shop_user_id AND b.currency = p.currency)
 LIMIT ?`;

export const closedCycleDiffBindings = (region: string, cycleId: bigint, limit: number) => cycleDiffBindings(region, cycleId, 3, limit);

interface DiffRow {
  shop_user_id: string;
  currency: string;
  items_total: string | null;
  item_count: string | number;
  payout_id: string | null;
  payout_amount: string | null;
}

export const closedCycleBalance: ReconRule = {
  name: RULE,
  description:
    "a closed cycle's items equal its payouts per seller and currency; carry-forward items equal CARRIED_FORWARD payouts",
  async check(ctx) {
    const findings: Finding[] = [];
    for (const { region, cycleId } of await cyclesInScope(ctx)) {
      const scope = `${region}/${cycleId}`;
      const limit = ctx.options.maxFindingsPerCheck;
      const diffs = await rows<DiffRow>(
        ctx.db,
        CLOSED_CYCLE_DIFF_SQL,
        closedCycleDiffBindings(region, cycleId, limit + 1),
      );
      findings.push(
        ...capped(
          diffs.map((d) => ({
            rule: RULE,
            severity: 'CRITICAL' as const,
            entity: `${scope}/${d.shop_user_id}/${d.currency}`,
            detail:
              d.payout_id === null
                ? `items sum to ${money(d.items_total ?? '0', d.currency)} (${d.item_count} items) but the closed cycle has no payout for this seller`
                : d.items_total === null
                  ? `payout ${d.payout_id} of ${money(d.payout_amount ?? '0', d.currency)} has no billing items in the cycle`
                  : `items sum to ${money(d.items_total, d.currency)} (${d.item_count} items) but payout ${d.payout_id} is ${money(d.payout_amount ?? '0', d.currency)}`,
          })),
          limit,
          RULE,
          scope,
          'CRITICAL',
        ),
      );
      findings.push(
        ...capped(
          await carryForwardDiffs(ctx.db, region, cycleId),
          limit,
          RULE,
          `${scope}/carry-forward`,
          'CRITICAL',
        ),
      );
    }
    return findings;
  },
};

async function cyclesInScope(
  ctx: RuleContext,
): Promise<Array<{ region: string; cycleId: bigint }>> {
  // settlement_cycle holds one row per region and week: small enough to read whole.
  const closed = await rows<{ region: string; cycle_id: string }>(
    ctx.db,
    `SELECT region, CAST(cycle_id AS CHAR) AS cycle_id FROM settlement_cycle WHERE status = 'CLOSED' ORDER BY region, cycle_id DESC`,
  );
  const perRegion = new Map<string, number>();
  const all = new Set(closed.map((c) => `${c.region}/${c.cycle_id}`));
  const scope = new Map<string, { region: string; cycleId: bigint }>();
  for (const c of closed) {
    const n = perRegion.get(c.region) ?? 0;
    if (n >= ctx.options.closedCycleLookback) continue;
    perRegion.set(c.region, n + 1);
    scope.set(`${c.region}/${c.cycle_id}`, { region: c.region, cycleId: BigInt(c.cycle_id) });
  }
  for (const c of cyclesFromEntities(ctx.open.keys())) {
    if (all.has(`${c.region}/${c.cycleId}`)) scope.set(`${c.region}/${c.cycleId}`, c);
  }
  return [...scope.values()];
}

/**
 * The close writes one CARRY_FORWARD item per non-zero CARRIED_FORWARD payout, keyed
 * `<cycle>:<seller>:<currency>`. Both sides are read whole (one row per carried seller): a LIMIT
 * here would make the unread rows look missing.
 */
async function carryForwardDiffs(db: Knex, region: string, cycleId: bigint): Promise<Finding[]> {
  const payouts = await rows<{ id: string; shop: string; currency: string; amount: string }>(
    db,
    `SELECT CAST(id AS CHAR) AS id, CAST(shop_user_id AS CHAR) AS shop, currency, CAST(amount_minor AS CHAR) AS amount
       FROM payout WHERE region = ? AND cycle_id = ? AND status = 'CARRIED_FORWARD'`,
    [region, cycleId],
  );
  const items = await rows<{
    source_ref: string;
    amount: string;
    cycle_id: string;
    shop: string;
    currency: string;
  }>(
    db,
    `SELECT source_ref, CAST(amount_minor AS CHAR) AS amount, CAST(cycle_id AS CHAR) AS cycle_id, CAST(shop_user_id AS CHAR) AS shop, currency
       FROM billing_item WHERE region = ? AND source = 'CARRY_FORWARD' AND source_ref LIKE ?`,
    [region, `${cycleId}:%`],
  );
  const byRef = new Map(items.map((i) => [i.source_ref, i]));
  const out: Finding[] = [];
  const entity = (shop: string, currency: string) =>
    `${region}/${cycleId}/${shop}/${currency}/carry-forward`;
  for (const p of payouts) {
    const ref = `${cycleId}:${p.shop}:${p.currency}`;
    const item = byRef.get(ref);
    byRef.delete(ref);
    let problem: string | undefined;
    if (!item && p.amount !== '0')
      problem = `CARRIED_FORWARD payout ${p.id} of ${money(p.amount, p.currency)} has no carry-forward item`;
    else if (item && item.amount !== p.amount)
      problem = `carry-forward item ${ref} is ${money(item.amount, item.currency)} but CARRIED_FORWARD payout ${p.id} is ${money(p.amount, p.currency)}`;
    else if (
      item &&
      (BigInt(item.cycle_id) <= cycleId || item.shop !== p.shop || item.currency !== p.currency)
    )
      problem = `carry-forward item ${ref} sits in cycle ${item.cycle_id} for seller ${item.shop} ${item.currency}; it belongs to a later cycle of seller ${p.shop} ${p.currency}`;
    if (problem)
      out.push({
        rule: RULE,
        severity: 'CRITICAL',
        entity: entity(p.shop, p.currency),
        detail: problem,
      });
  }
  for (const item of byRef.values()) {
    out.push({
      rule: RULE,
      severity: 'CRITICAL',
      entity: entity(item.shop, item.currency),
      detail: `carry-forward item ${item.source_ref} of ${money(item.amount, item.currency)} has no CARRIED_FORWARD payout in cycle ${cycleId}`,
    });
  }
  return out;
}
