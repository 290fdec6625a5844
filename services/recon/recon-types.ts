import { z } from 'zod';
import type { StsConfig } from '../../runtime/config';
import type { Knex } from '../../runtime/db/knex';
import { ConfigError } from '../../runtime/errors';
import type { GatewayReportReader } from './gateway-report-reader';

/**
 * The vocabulary of reconciliation (docs/DESIGN.md, lesson 10: check by results, not by code
 * paths). A rule reads source-of-truth data beside the data derived from it and returns what
 * disagrees, as findings keyed by (rule, entity); the runner keeps them in recon_finding.
 */

export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = {
  INFO: 1,
  WARNING: 2,
  CRITICAL: 3,
};

export interface Finding {
  rule: string;
  severity: Severity;
  /** What the finding is about, stable across runs, e.g. SG/20261116/652024209997893632/SGD. */
  entity: string;
  detail: string;
  /** Name of a documented fix an operator may trigger (recon-fixes.ts). */
  fix?: string;
}

export interface StoredFinding extends Finding {
  id: bigint;
  firstSeen: Date;
  lastSeen: Date;
  resolvedAt: Date | null;
  alertedAt: Date | null;
}

export interface RuleContext {
  db: Knex;
  /** The run's clock; every "older than" in a rule is measured from it. */
  now: Date;
  options: ReconOptions;
  gateway: GatewayReportReader;
  /**
   * This rule's open findings by entity. A rule re-checks each of them even when it lies outside
   * the rule's usual window, so a finding is only ever resolved by evidence, never by ageing out.
   */
  open: ReadonlyMap<string, StoredFinding>;
  /**
   * Says what the rule did not check and why (a day with too little volume or history), in the
   * run's report rather than as a finding: an unchecked day is not evidence of anything.
   */
  note?(text: string): void;
}

export interface ReconRule {
  name: string;
  /** One line for `sts recon` help and the docs. */
  description: string;
  check(ctx: RuleContext): Promise<Finding[]>;
}

/** Reconciliation options; every default lives here, next to the schema that validates it. */
export const RECON_DEFAULTS = {
  /** A PENDING or SUBMITTED payout older than this (ms after created_at) is past its SLA. Default 24 h (STS_PAYOUT_SLA_MS). */
  payoutSlaMs: 86_400_000,
  /** An outbox row unpublished for longer than this (ms) is stuck. Default 60 s (STS_OUTBOX_MAX_AGE_MS). */
  outboxMaxAgeMs: 60_000,
  /** Gateway whose settlement report is compared with the payouts. Default the local simulator (STS_GATEWAY_URL). */
  gatewayUrl: 'http://127.0.0.1:7071',
  /** New CRITICAL findings are POSTed here as JSON; '' sends nothing. Default '' (STS_ALERT_WEBHOOK_URL). */
  alertWebhookUrl: '',
  /**
   * Closed cycles per region whose items are re-summed against their payouts on every run, newest
   * first. A closed cycle never changes legitimately, so older ones are checked only while they
   * have an open finding; raising this costs one index range over each extra cycle. Default 4.
   */
  closedCycleLookback: 4,
  /**
   * Rules over tables that only grow (duplicate ids and orders, PAID payouts, uploads) look at
   * rows minted in this window (ms), found by snowflake id range. Default 8 days: a weekly cycle
   * and a day of slack, so a run that was down for a day still covers everything once.
   */
  recentWindowMs: 8 * 86_400_000,
  /** Closed cycles before the newest one that form a region's history for anomalies. Default 4. */
  anomalyHistory: 4,
  /** A cycle whose payout total or payout per seller is beyond this factor of its history (above ×f or below ÷f) is an anomaly. Default 3. */
  anomalyFactor: 3,
  /**
   * The daily effect rules (daily-take-rate, daily-avg-payout) compare a region's local day with
   * the same weekday of this many previous weeks. Default 4 (STS_RECON_EFFECT_WEEKS).
   */
  effectWeeks: 4,
  /**
   * Of those weeks, how many must have enough volume for a day to be compared at all (all of them
   * when effectWeeks is smaller). Default 2.
   */
  effectMinBaselineDays: 2,
  /** The local days checked on each run: today so far, and the days before it. Default 2. */
  effectDays: 2,
  /**
   * Charges (daily-take-rate) or payouts (daily-avg-payout) a day needs to be compared, or to
   * count as a baseline day; a quieter day is skipped. Default 50 (STS_RECON_EFFECT_MIN_VOLUME).
   */
  effectMinVolume: 50,
  /** A take rate that moves more than this many bps from its baseline is a WARNING. Default 100 (STS_RECON_TAKE_RATE_SHIFT_BPS). */
  takeRateShiftBps: 100,
  /** An average payout more than this percent above or below its baseline is a WARNING. Default 50 (STS_RECON_AVG_PAYOUT_SHIFT_PCT). */
  avgPayoutShiftPct: 50,
  /** Findings one check reports at most per run; the rest are summarised in one finding. Default 1000. */
  maxFindingsPerCheck: 1000,
  /** How long a run waits for another run to finish (ms) before giving up. Default 30000. */
  lockWaitMs: 30_000,
  /** Time for the alert webhook to answer (ms). Default 5000. */
  alertTimeoutMs: 5000,
};

export type ReconOptions = typeof RECON_DEFAULTS;

const optionsSchema = z
  .object({
    payoutSlaMs: z.number().int().min(1000),
    outboxMaxAgeMs: z.number().int().min(1000),
    gatewayUrl: z.string().url(),
    alertWebhookUrl: z.union([z.literal(''), z.string().url()]),
    closedCycleLookback: z.number().int().min(1).max(520),
    recentWindowMs: z.number().int().min(60_000),
    anomalyHistory: z.number().int().min(1).max(52),
    anomalyFactor: z.number().int().min(2).max(1000),
    effectWeeks: z.number().int().min(1).max(8),
    effectMinBaselineDays: z.number().int().min(1).max(8),
    effectDays: z.number().int().min(1).max(14),
    effectMinVolume: z.number().int().min(1),
    takeRateShiftBps: z.number().int().min(1).max(10_000),
    avgPayoutShiftPct: z.number().int().min(1).max(10_000),
    maxFindingsPerCheck: z.number().int().min(1).max(100_000),
    lockWaitMs: z.number().int().min(0),
    alertTimeoutMs: z.number().int().min(100),
  })
  .strict();

export function parseReconOptions(opts: Partial<ReconOptions> = {}): ReconOptions {
  const parsed = optionsSchema.safeParse({ ...RECON_DEFAULTS, ...opts });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `recon option ${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`,
      'see RECON_DEFAULTS in services/recon/recon-types.ts',
    );
  }
  return parsed.data;
}

/** The options the environment sets (STS_PAYOUT_SLA_MS, STS_OUTBOX_MAX_AGE_MS, ...). */
export function reconOptionsFromConfig(
  config: StsConfig,
  extra: Partial<ReconOptions> = {},
): ReconOptions {
  return parseReconOptions({
    payoutSlaMs: config.payoutSlaMs,
    outboxMaxAgeMs: config.outboxMaxAgeMs,
    gatewayUrl: config.gatewayUrl,
    alertWebhookUrl: config.alertWebhookUrl,
    effectWeeks: config.reconEffectWeeks,
    effectMinVolume: config.reconEffectMinVolume,
    takeRateShiftBps: config.reconTakeRateShiftBps,
    avgPayoutShiftPct: config.reconAvgPayoutShiftPct,
    ...extra,
  });
}
