import type { Knex } from '../../runtime/db/knex';
import { cycleIdFor } from '../../runtime/billing/cycle-calendar';
import {
  DEFAULT_CATEGORY,
  pickEffectiveRule,
  type CommissionRule,
  type ValidNewRule,
} from './commission-rule';

/**
 * What an operator should look at twice before a new rule version is written. Neither is an error:
 * a large rate change or a backdated correction can be right, so each is a warning the operator
 * confirms (`sts rules add --confirm-warnings`, `"confirm": true` in POST /rules), and the
 * confirmation is audited with the warnings.
 *
 *   RATE_JUMP    the rate moves more than `rateWarnBps` (STS_RULE_RATE_WARN_BPS, default 200) from
 *                the version it replaces: a typo of one digit (250 for 25) moves every fee tenfold
 *   RETROACTIVE  effective_from is before now: charges already booked for that period used the rule
 *                in effect then and are not recomputed, so the new rate reaches only orders that
 *                arrive late for it; the warning names the period and the cycles it covers, closed
 *                ones included (their payouts are made). Charges are not counted: commission_charge
 *                has no index by time, and counting would scan the region's charges under the lock.
 */
export const RULE_WARNING_DEFAULTS = {
  /** A rate change beyond this many basis points from the replaced version warns. */
  rateWarnBps: 200,
} as const;

export type RuleWarning =
  | {
      kind: 'RATE_JUMP';
      message: string;
      replacedVersion: number;
      replacedCategory: string;
      replacedRateBps: number;
      rateBps: number;
      changeBps: number;
      boundBps: number;
    }
  | {
      kind: 'RETROACTIVE';
      message: string;
      /** The period whose charges are already booked, ISO UTC, until exclusive. */
      from: string;
      until: string;
      firstCycle: string;
      lastCycle: string;
      /** Cycles of the period already closed: their payouts were made with the earlier rule. */
      closedCycles: string[];
    };

export interface RuleWarningOptions {
  rateWarnBps?: number;
  now?: Date;
}

/**
 * The warnings for `rule`, given every version of its (region, category) and, for a category rule,
 * the region's '*' versions. Reads settlement_cycle once, for a retroactive rule only.
 */
export async function ruleWarnings(
  db: Knex | Knex.Transaction,
  rule: ValidNewRule,
  versions: readonly CommissionRule[],
  defaults: readonly CommissionRule[],
  opts: RuleWarningOptions = {},
): Promise<RuleWarning[]> {
  const bound = opts.rateWarnBps ?? RULE_WARNING_DEFAULTS.rateWarnBps;
  const now = opts.now ?? new Date();
  const warnings: RuleWarning[] = [];

  const replaced = replacedRule(rule, versions, defaults);
  if (replaced) {
    const change = rule.rateBps - replaced.rateBps;
    if (Math.abs(change) > bound)
      warnings.push({
        kind: 'RATE_JUMP',
        message: `rate ${rule.rateBps} bps is ${change > 0 ? '+' : ''}${change} bps from ${replaced.region}/${replaced.category} v${replaced.version} (${replaced.rateBps} bps), beyond the ${bound} bps bound`,
        replacedVersion: replaced.version,
        replacedCategory: replaced.category,
        replacedRateBps: replaced.rateBps,
        rateBps: rule.rateBps,
        changeBps: change,
        boundBps: bound,
      });
  }

  if (rule.effectiveFrom.getTime() < now.getTime()) {
    const until = rule.effectiveTo !== null && rule.effectiveTo < now ? rule.effectiveTo : now;
    const firstCycle = cycleIdFor(rule.region, rule.effectiveFrom);
    const lastCycle = cycleIdFor(rule.region, new Date(until.getTime() - 1));
    const closed = (
      (await db('settlement_cycle')
        .where({ region: rule.region, status: 'CLOSED' })
        .whereBetween('cycle_id', [firstCycle.toString(), lastCycle.toString()])
        .orderBy('cycle_id')
        .select(db.raw('CAST(cycle_id AS CHAR) AS cycle_id'))) as Array<{ cycle_id: string }>
    ).map((c) => c.cycle_id);
    const orders =
      rule.category === DEFAULT_CATEGORY
        ? `orders of ${rule.region} without a rule of their own category`
        : `${rule.region}/${rule.category} orders`;
    warnings.push({
      kind: 'RETROACTIVE',
      message:
        `effective_from ${rule.effectiveFrom.toISOString()} is in the past: ${orders} from then until ${until.toISOString()} ` +
        `(cycles ${firstCycle}..${lastCycle}${closed.length > 0 ? `, ${closed.length} of them closed and paid` : ''}) were already charged with the earlier rule and are not recomputed`,
      from: rule.effectiveFrom.toISOString(),
      until: until.toISOString(),
      firstCycle: firstCycle.toString(),
      lastCycle: lastCycle.toString(),
      closedCycles: closed,
    });
  }
  return warnings;
}

/**
 * The version the new one replaces: the latest of its own pair that starts before it, else (for a
 * category rule) the region's '*' default in effect when it starts, which its orders pay without it.
 */
function replacedRule(
  rule: ValidNewRule,
  versions: readonly CommissionRule[],
  defaults: readonly CommissionRule[],
): CommissionRule | undefined {
  const earlier = versions.filter((v) => v.effectiveFrom.getTime() < rule.effectiveFrom.getTime());
  const own = earlier.reduce<CommissionRule | undefined>(
    (latest, v) => (latest === undefined || v.effectiveFrom > latest.effectiveFrom ? v : latest),
    undefined,
  );
  if (own || rule.category === DEFAULT_CATEGORY) return own;
  return pickEffectiveRule(defaults, DEFAULT_CATEGORY, rule.effectiveFrom);
}
