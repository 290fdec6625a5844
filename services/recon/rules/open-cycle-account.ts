import { formatMoneyText as money } from '../../../runtime/money/money-text';
import { capped, cycleDiffBindings, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 2: in every OPEN cycle, each settlement_account row's balance and item_count equal the sum
 * and count of its billing items (docs/DESIGN.md, lesson 3: the close only snapshots these
 * balances, so a drifted balance would be paid as it stands). Fix: `resync-account` recomputes the
 * row.
 *
 * Consistency: items and their balance increments commit in one transaction, and the comparison
 * is ONE statement, so InnoDB reads both sides from one snapshot; a batch committing meanwhile is
 * seen whole or not at all, and live traffic cannot produce a false finding.
 *
 * Query: one covering range over ix_billing_item_cycle, joined to settlement_account by its
 * primary key; the reverse probe (an account without items) is a ref lookup on the same index.
 */
export const RULE = 'open-cycle-account';

export const OPEN_CYCLE_DIFF_SQL = `
SELECT CAST(i.shop_user_id AS CHAR) AS shop_user_id, i.currency, CAST(i.total AS CHAR) AS items_total, CAST(i.n AS CHAR) AS item_count,
       CAST(a.balance_minor AS CHAR) AS balance, CAST(a.item_count AS CHAR) AS account_count
  FROM (SELECT shop_user_id, currency, SUM(amount_minor) AS total, COUNT(*) AS n
          FROM billing_item WHERE region = ? AND cycle_id = ? GROUP BY shop_user_id, currency) i
  LEFT JOIN settlement_account a
    ON a.region = ? AND a.shop_user_id = i.shop_user_id AND a.currency = i.currency AND a.cycle_id = ?
 WHERE a.region IS NULL OR a.balance_minor <> i.total OR a.item_count <> i.n
UNION ALL
SELECT CAST(a.shop_user_id AS CHAR), a.currency, '0', '0', CAST(a.balance_minor AS CHAR), CAST(a.item_count AS CHAR)
  FROM settlement_account a
 WHERE a.region = ? AND a.cycle_id = ? AND (a.balance_minor <> 0 OR a.item_count <> 0)
   AND NOT EXISTS (SELECT 1 FROM billing_item b
                    WHERE b.region = a.region AND b.cycle_id = a.cycle_id AND b.shop_user_id = a.shop_user_id AND b.currency = a.currency)
 LIMIT ?`;

export const openCycleDiffBindings = (region: string, cycleId: bigint, limit: number) => cycleDiffBindings(region, cycleId, 3, limit);

interface DiffRow {
  shop_user_id: string;
  currency: string;
  items_total: string;
  item_count: string;
  balance: string | null;
  account_count: string | null;
}

export const openCycleAccount: ReconRule = {
  name: RULE,
  description:
    "an OPEN cycle's settlement_account balance and item_count equal the sum and count of its billing items",
  async check(ctx) {
    const open = await rows<{ region: string; cycle_id: string }>(
      ctx.db,
      `SELECT region, CAST(cycle_id AS CHAR) AS cycle_id FROM settlement_cycle WHERE status = 'OPEN' ORDER BY region, cycle_id`,
    );
    const findings: Finding[] = [];
    const limit = ctx.options.maxFindingsPerCheck;
    for (const c of open) {
      const cycleId = BigInt(c.cycle_id);
      const scope = `${c.region}/${cycleId}`;
      const diffs = await rows<DiffRow>(
        ctx.db,
        OPEN_CYCLE_DIFF_SQL,
        openCycleDiffBindings(c.region, cycleId, limit + 1),
      );
      const found = diffs.map((d): Finding => ({
        rule: RULE,
        severity: 'CRITICAL',
        entity: `${scope}/${d.shop_user_id}/${d.currency}`,
        detail:
          d.balance === null
            ? `items sum to ${money(d.items_total, d.currency)} (${d.item_count} items) but there is no settlement_account row`
            : `settlement_account says ${money(d.balance, d.currency)} from ${d.account_count} items; the items sum to ${money(d.items_total, d.currency)} from ${d.item_count}`,
        fix: 'resync-account',
      }));
      findings.push(...capped(found, limit, RULE, scope, 'CRITICAL'));
    }
    return findings;
  },
};
