import type { Knex } from '../../runtime/db/knex';
import { CommissionRuleInvalidError, CommissionRuleOverlapError, CommissionRuleUnconfirmedError } from './commission-errors';
import {
  DEFAULT_CATEGORY,
  pickEffectiveRule,
  ruleFromRow,
  validateNewRule,
  type CommissionRule,
  type CommissionRuleRow,
  type NewCommissionRule,
  type ValidNewRule,
} from './commission-rule';
import { ruleWarnings, type RuleWarning, type RuleWarningOptions } from './rule-warnings';

/**
 * Commission rules in the `commission_rule` table: add a version, list, find the one in effect.
 * Plain functions over a Knex handle, so the CLI, the processor and the ops API share them.
 *
 * addRule
 *   inputs   a new rule (validated here), the actor recorded as created_by
 *            and, for an operator's add, a review (rule-warnings.ts)
 *   output   the stored rule with its id and version (max + 1 for its region and category)
 *   failures STS_COMMISSION_RULE_INVALID (bad rate, min > max, to <= from, unknown region, actor),
 *            STS_COMMISSION_RULE_OVERLAP (the dates overlap another version of the pair),
 *            STS_COMMISSION_RULE_UNCONFIRMED (a review found warnings and `confirmed` is false)
 */

/**
 * An operator's add is reviewed for warnings inside the add's own transaction, under its lock, so
 * the warnings are about the versions the rule is actually written beside. Without a review
 * (seeding, tests, the demo) a rule is written unchecked.
 */
export interface RuleReview extends RuleWarningOptions {
  /** Write despite warnings. */
  confirmed: boolean;
  /**
   * Runs in the add's transaction after the insert, when there were warnings and they were
   * confirmed: the audit row of the confirmation commits with the rule, or neither does.
   */
  onConfirmed?: (
    trx: Knex.Transaction,
    rule: CommissionRule,
    warnings: RuleWarning[],
  ) => Promise<void>;
}

/** How many times addRule reruns after losing a race (deadlock or duplicate version). */
const ADD_ATTEMPTS = 5;

export async function addRule(
  db: Knex,
  input: NewCommissionRule,
  actor: string,
  review?: RuleReview,
): Promise<CommissionRule> {
  const rule = validateNewRule(input);
  const createdBy = actor.trim();
  if (createdBy === '' || createdBy.length > 64)
    throw new CommissionRuleInvalidError(['actor (created_by) must be 1 to 64 characters']);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (trx) => {
        // A locking read of EVERY version of the pair, through uq_commission_rule_version's
        // (region, category) prefix. Under REPEATABLE READ it also gap-locks the range, so two
        // concurrent adds cannot both check "no overlap" and then both insert: the second waits
        // for the first to commit and then sees its row, or (when the pair had no row, and both
        // hold the gap) one of them is chosen as a deadlock victim and reruns below. Under READ
        // COMMITTED both would compute the same version, and the unique key stops the second.
        const rows = (await trx('commission_rule')
          .where({ region: rule.region, category: rule.category })
          .forUpdate()
          .select('*')) as CommissionRuleRow[];
        const versions = rows.map(ruleFromRow);
        const clash = versions.find((v) => overlaps(v, rule.effectiveFrom, rule.effectiveTo));
        if (clash) throw new CommissionRuleOverlapError(rule.region, rule.category, clash.version);
        const warnings = review ? await reviewRule(trx, rule, versions, review) : [];
        if (warnings.length > 0 && !review!.confirmed)
          throw new CommissionRuleUnconfirmedError(warnings, {
            region: rule.region,
            category: rule.category,
          });
        const version = versions.reduce((max, v) => Math.max(max, v.version), 0) + 1;
        await trx('commission_rule').insert({
          region: rule.region,
          category: rule.category,
          version,
          rate_bps: rule.rateBps,
          min_minor: rule.minMinor,
          max_minor: rule.maxMinor,
          affiliate_share_bps: rule.affiliateShareBps,
          effective_from: rule.effectiveFrom,
          effective_to: rule.effectiveTo,
          created_by: createdBy,
        });
        const stored = (await trx('commission_rule')
          .where({ region: rule.region, category: rule.category, version })
          .first()) as CommissionRuleRow;
        const added = ruleFromRow(stored);
        if (warnings.length > 0) await review!.onConfirmed?.(trx, added, warnings);
        return added;
      });
    } catch (err) {
      if (attempt < ADD_ATTEMPTS && lostRace(err)) continue;
      throw err;
    }
  }
}

export interface RuleFilter {
  region?: string;
  category?: string;
}

/** Every version, ordered by region, category and version. */
export async function listRules(db: Knex, filter: RuleFilter = {}): Promise<CommissionRule[]> {
  const q = db('commission_rule')
    .select('*')
    .orderBy([{ column: 'region' }, { column: 'category' }, { column: 'version' }]);
  if (filter.region !== undefined) q.where('region', filter.region);
  if (filter.category !== undefined) q.where('category', filter.category);
  return ((await q) as CommissionRuleRow[]).map(ruleFromRow);
}

/**
 * The rule in effect at `at` (from inclusive, to exclusive) for the category, else the region's
 * '*' default, else undefined (pickEffectiveRule). The processor preloads a batch's rules instead
 * (rule-book.ts) with the same selection; this looks up one order's rule.
 */
export async function findEffectiveRule(
  db: Knex | Knex.Transaction,
  region: string,
  category: string,
  at: Date,
): Promise<CommissionRule | undefined> {
  const rows = (await effectiveRuleQuery(db, region, category, at)) as CommissionRuleRow[];
  return pickEffectiveRule(rows.map(ruleFromRow), category, at);
}

/** The single lookup; served by uq_commission_rule_version's (region, category) prefix. */
export function effectiveRuleQuery(
  db: Knex | Knex.Transaction,
  region: string,
  category: string,
  at: Date,
) {
  return db('commission_rule')
    .select('*')
    .where('region', region)
    .whereIn('category', [category, DEFAULT_CATEGORY])
    .where('effective_from', '<=', at)
    .where((w) => w.whereNull('effective_to').orWhere('effective_to', '>', at));
}

/** The warnings of a new version; a category rule is also compared with the region's default. */
async function reviewRule(
  trx: Knex.Transaction,
  rule: ValidNewRule,
  versions: CommissionRule[],
  review: RuleReview,
): Promise<RuleWarning[]> {
  const defaults =
    rule.category === DEFAULT_CATEGORY
      ? []
      : (
          (await trx('commission_rule')
            .where({ region: rule.region, category: DEFAULT_CATEGORY })
            .select('*')) as CommissionRuleRow[]
        ).map(ruleFromRow);
  return ruleWarnings(trx, rule, versions, defaults, review);
}

/** True when [v.from, v.to) and [from, to) share an instant; null `to` is +infinity. */
function overlaps(v: CommissionRule, from: Date, to: Date | null): boolean {
  const startsBeforeOtherEnds = v.effectiveTo === null || from.getTime() < v.effectiveTo.getTime();
  const otherStartsBeforeThisEnds = to === null || v.effectiveFrom.getTime() < to.getTime();
  return startsBeforeOtherEnds && otherStartsBeforeThisEnds;
}

/** Deadlock, lock wait timeout, or a concurrent add that took the same version number. */
function lostRace(err: unknown): boolean {
  const errno = (err as { errno?: number }).errno;
  return errno === 1213 || errno === 1205 || errno === 1062;
}
