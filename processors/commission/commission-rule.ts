import { z } from 'zod';
import { CommissionRuleInvalidError } from './commission-errors';
import { regionInfo } from '../../runtime/money/regions';

/**
 * A commission rule: how much commission an order of one region and category pays, during one
 * UTC date range. Rules are versioned per (region, category); versions of the same pair never
 * overlap, so at most one is effective at any instant.
 *
 * The category '*' is the region's default: it applies to an order only when no rule of the
 * order's own category is effective at that instant. A specific rule always wins over '*'.
 */
export const DEFAULT_CATEGORY = '*';

export const BPS_SCALE = 10_000n;

export interface CommissionRule {
  id: bigint;
  region: string;
  category: string;
  version: number;
  /** Fee in basis points of the order amount, 0..10000. */
  rateBps: number;
  /** Per-order floor in minor units; 0 means none. */
  minMinor: bigint;
  /** Per-order cap in minor units; null means none. */
  maxMinor: bigint | null;
  /** Part of the fee credited to the order's affiliate, 0..10000 (10000: the whole fee). */
  affiliateShareBps: number;
  /** UTC, inclusive. */
  effectiveFrom: Date;
  /** UTC, exclusive; null means open-ended. */
  effectiveTo: Date | null;
  createdBy: string;
  createdAt: Date;
}

/** True when the rule is in effect at `at`: from inclusive, to exclusive, a null to open-ended. */
function inEffect(rule: CommissionRule, at: Date): boolean {
  const t = at.getTime();
  return (
    rule.effectiveFrom.getTime() <= t &&
    (rule.effectiveTo === null || rule.effectiveTo.getTime() > t)
  );
}

/**
 * The rule an order of `category` pays at `at`, among candidate versions of its region: the
 * category's own version in effect, else the region's '*' default in effect, else undefined.
 * Versions of one pair never overlap, so each category has at most one candidate; the specific one
 * wins. The category is compared exactly, as a JS string: the one selection both the single
 * lookup (rule-store.ts) and a batch's preloaded rules (rule-book.ts) use.
 */
export function pickEffectiveRule(
  candidates: readonly CommissionRule[],
  category: string,
  at: Date,
): CommissionRule | undefined {
  const live = candidates.filter((r) => inEffect(r, at));
  return (
    live.find((r) => r.category === category) ?? live.find((r) => r.category === DEFAULT_CATEGORY)
  );
}

/**
 * What a caller (the CLI now, the ops API later) supplies for a new version. Defaults live here,
 * next to the schema that checks them.
 */
export const NEW_RULE_DEFAULTS = {
  /** No floor. */
  minMinor: 0n,
  /** No cap. */
  maxMinor: null,
  /** The affiliate is credited the whole fee, unless the rule says otherwise. */
  affiliateShareBps: 10_000,
  /** Open-ended. */
  effectiveTo: null,
} as const;

const bps = (name: string) =>
  z
    .number({ error: `${name} must be a whole number of basis points` })
    .int(`${name} must be a whole number of basis points`)
    .min(0, `${name} must be 0..10000`)
    .max(10_000, `${name} must be 0..10000`);

export const newRuleSchema = z
  .object({
    region: z.string().refine((r) => regionInfo(r) !== undefined, {
      message: 'region must be one of SG, MY, TH, VN, ID, PH, TW, BR',
    }),
    // Free text like the upstream category (which is free text too), but no stray whitespace:
    // " books" would never match an order's "books".
    category: z
      .string()
      .min(1, 'category must not be empty')
      .max(64, 'category must be at most 64 characters')
      .refine((c) => c === c.trim(), { message: 'category must not start or end with whitespace' }),
    rateBps: bps('rate_bps'),
    minMinor: z.bigint().min(0n, 'min must not be negative').default(NEW_RULE_DEFAULTS.minMinor),
    maxMinor: z
      .bigint()
      .min(0n, 'max must not be negative')
      .nullable()
      .default(NEW_RULE_DEFAULTS.maxMinor),
    affiliateShareBps: bps('affiliate_share_bps').default(NEW_RULE_DEFAULTS.affiliateShareBps),
    effectiveFrom: z.date({ error: 'effective_from must be a valid date' }),
    effectiveTo: z
      .date({ error: 'effective_to must be a valid date' })
      .nullable()
      .default(NEW_RULE_DEFAULTS.effectiveTo),
  })
  // Related fields are checked together, with a message that says how to fix the value.
  .superRefine((r, ctx) => {
    if (r.maxMinor !== null && r.minMinor > r.maxMinor) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxMinor'],
        message: `min (${r.minMinor}) must not exceed max (${r.maxMinor})`,
      });
    }
    if (r.effectiveTo !== null && r.effectiveTo.getTime() <= r.effectiveFrom.getTime()) {
      ctx.addIssue({
        code: 'custom',
        path: ['effectiveTo'],
        message: 'effective_to must be after effective_from',
      });
    }
  });

export type NewCommissionRule = z.input<typeof newRuleSchema>;
export type ValidNewRule = z.output<typeof newRuleSchema>;

/** The rule with defaults filled in; throws CommissionRuleInvalidError listing every problem. */
export function validateNewRule(input: NewCommissionRule): ValidNewRule {
  const parsed = newRuleSchema.safeParse(input);
  if (!parsed.success)
    throw new CommissionRuleInvalidError(parsed.error.issues.map((i) => i.message));
  return parsed.data;
}

/** A commission_rule row as mysql2 returns it (BIGINT as strings, DATETIME as Date). */
export interface CommissionRuleRow {
  id: string;
  region: string;
  category: string;
  version: number;
  rate_bps: number;
  min_minor: string;
  max_minor: string | null;
  affiliate_share_bps: number;
  effective_from: Date;
  effective_to: Date | null;
  created_by: string;
  created_at: Date;
}

export function ruleFromRow(row: CommissionRuleRow): CommissionRule {
  return {
    id: BigInt(row.id),
    region: row.region,
    category: row.category,
    version: Number(row.version),
    rateBps: Number(row.rate_bps),
    minMinor: BigInt(row.min_minor),
    maxMinor: row.max_minor === null ? null : BigInt(row.max_minor),
    affiliateShareBps: Number(row.affiliate_share_bps),
    effectiveFrom: new Date(row.effective_from),
    effectiveTo: row.effective_to === null ? null : new Date(row.effective_to),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
  };
}

/** A rule as JSON carries it (CLI --json, the ops API): ids and amounts as decimal strings, dates as ISO UTC. */
export function ruleWireView(r: CommissionRule): Record<string, string | number | null> {
  return {
    id: r.id.toString(),
    region: r.region,
    category: r.category,
    version: r.version,
    rateBps: r.rateBps,
    minMinor: r.minMinor.toString(),
    maxMinor: r.maxMinor === null ? null : r.maxMinor.toString(),
    affiliateShareBps: r.affiliateShareBps,
    effectiveFrom: r.effectiveFrom.toISOString(),
    effectiveTo: r.effectiveTo === null ? null : r.effectiveTo.toISOString(),
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
  };
}
