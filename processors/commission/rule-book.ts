import type { Knex } from '../../runtime/db/knex';
import {
  DEFAULT_CATEGORY,
  pickEffectiveRule,
  ruleFromRow,
  type CommissionRule,
  type CommissionRuleRow,
} from './commission-rule';
import { whereRegionKeys, type RegionKey } from './region-keys';

/**
 * The commission rules a batch can need, read in one query, with the effective version picked in
 * memory per order: every version of each (region, category) the batch's orders name, and of each
 * region's '*' default, in effect at some instant between the batch's earliest and latest order.
 * That is a superset of what findEffectiveRule would read for any one order of the batch, and the
 * pick is the same function (pickEffectiveRule), so each order gets the rule it would have got
 * alone. Rules are few (a handful of versions per pair), so the read stays small.
 */
export class RuleBook {
  private constructor(private readonly byPair: Map<string, CommissionRule[]>) {}

  static readonly EMPTY = new RuleBook(new Map());

  static async load(
    db: Knex | Knex.Transaction,
    orders: ReadonlyArray<{ region: string; category: string; occurred_at: Date }>,
  ): Promise<RuleBook> {
    if (orders.length === 0) return RuleBook.EMPTY;
    const rows = (await rulesQuery(db, orders)) as CommissionRuleRow[];
    const byPair = new Map<string, CommissionRule[]>();
    for (const rule of rows.map(ruleFromRow)) {
      const k = pairKey(rule.region, rule.category);
      const list = byPair.get(k);
      if (list) list.push(rule);
      else byPair.set(k, [rule]);
    }
    return new RuleBook(byPair);
  }

  /** The rule an order of `category` in `region` pays at `at`; undefined when none applies. */
  effective(region: string, category: string, at: Date): CommissionRule | undefined {
    const own = this.byPair.get(pairKey(region, category)) ?? [];
    const fallback = this.byPair.get(pairKey(region, DEFAULT_CATEGORY)) ?? [];
    return pickEffectiveRule([...own, ...fallback], category, at);
  }
}

/** The batch's rule read, served by uq_commission_rule_version's (region, category) prefix. */
export function rulesQuery(
  db: Knex | Knex.Transaction,
  orders: ReadonlyArray<{ region: string; category: string; occurred_at: Date }>,
) {
  const pairs = new Map<string, RegionKey<string>>();
  let first = orders[0]!.occurred_at;
  let last = first;
  for (const o of orders) {
    for (const category of [o.category, DEFAULT_CATEGORY])
      pairs.set(pairKey(o.region, category), { region: o.region, value: category });
    if (o.occurred_at < first) first = o.occurred_at;
    if (o.occurred_at > last) last = o.occurred_at;
  }
  return whereRegionKeys(db('commission_rule').select('*'), 'category', [...pairs.values()])
    .where('effective_from', '<=', last)
    .where((w) => w.whereNull('effective_to').orWhere('effective_to', '>', first));
}

const pairKey = (region: string, category: string) => `${region}\u0000${category}`;
