import type { Knex } from '../../runtime/db/knex';
import { REGIONS } from '../../runtime/money/regions';
import { addDays, dayRange, isDay, localDay, weekdayName } from './local-day';
import type { Finding, ReconOptions, RuleContext } from './recon-types';

/**
 * Period over period, by the day (docs/RECON.md, "Daily effects"): a figure of each region's local
 * day (local-day.ts) against the same weekday of the previous `effectWeeks` weeks, so a wrong
 * commission rule shows up the day it lands instead of at the month's end. The same weekday,
 * because Mondays (the close) and weekends differ from the rest by design.
 *
 * The baseline is the median of the baseline days' figures (the mean of the middle two when they
 * are even): one unusual week among them, a sale or a day that itself raised a finding, does not
 * move it. A day is compared only with enough volume (`effectMinVolume` charges or payouts) and
 * enough baseline days that have it too (`effectMinBaselineDays`); otherwise the run's report says
 * it was skipped and why, and nothing is raised: a quiet day is not evidence of a wrong rule.
 *
 * Days checked: the last `effectDays` local days of each region (today so far, yesterday, ...),
 * plus the day of every open finding of the rule, which is re-checked until it is resolved by
 * evidence (the day's figures corrected), never by ageing out.
 */

/** One currency's figure for one region and local day. */
export interface DayFigure {
  /** How many charges or payouts the figure is made of. */
  volume: bigint;
  /** The figure itself, exact: a take rate in bps, or an average payout in minor units. */
  value: bigint;
  /** The figure as a person reads it: "1,000 bps (10.00%)", "SGD 5,050.00". */
  shown: string;
  /** What it is made of: "SGD 18,300.00 commission on SGD 183,000.00 of orders". */
  basis: string;
}

export interface DailyMetric {
  rule: string;
  /** What a finding calls the figure: "take rate". */
  label: string;
  /** What the volume counts, plural: "charges". */
  unit: string;
  /** One region's local day [from, to), per currency. Currencies without rows are absent. */
  read(db: Knex, region: string, from: Date, to: Date): Promise<Map<string, DayFigure>>;
  /** `value` of the baseline as a person reads it. */
  show(value: bigint, currency: string): string;
  /** How far `value` is from `baseline` and the threshold, or undefined when within it. */
  judge(
    value: bigint,
    baseline: bigint,
    options: ReconOptions,
  ): { shift: string; threshold: string } | undefined;
}

/** recon_finding.detail's width. */
const DETAIL_MAX = 1024;

export async function checkDaily(ctx: RuleContext, metric: DailyMetric): Promise<Finding[]> {
  const { effectDays, effectWeeks, effectMinVolume } = ctx.options;
  const minVolume = BigInt(effectMinVolume);
  const minBaseline = Math.min(ctx.options.effectMinBaselineDays, effectWeeks);
  const note = (text: string) => ctx.note?.(text);
  const reopened = openDays(ctx.open.keys());
  const findings: Finding[] = [];
  const idle: string[] = [];

  for (const region of Object.keys(REGIONS)) {
    const today = localDay(region, ctx.now);
    const days = new Set<string>();
    for (let k = 0; k < effectDays; k++) days.add(addDays(today, -k));
    for (const day of reopened.get(region) ?? []) days.add(day);
    // Each day's figures read once per run, whichever target day it is a baseline of.
    const figures = new Map<string, Promise<Map<string, DayFigure>>>();
    const figuresOf = (day: string) => {
      let f = figures.get(day);
      if (!f) {
        const { from, to } = dayRange(region, day);
        f = metric.read(ctx.db, region, from, to);
        figures.set(day, f);
      }
      return f;
    };

    let seen = false;
    for (const day of [...days].sort().reverse()) {
      const current = await figuresOf(day);
      if (current.size > 0) seen = true;
      for (const [currency, figure] of current) {
        const scope = `${region}/${day}/${currency}`;
        if (figure.volume < minVolume) {
          note(`${scope}: ${figure.volume} ${metric.unit}, fewer than ${minVolume}; not compared`);
          continue;
        }
        const baselineDays: Array<{ day: string; figure?: DayFigure }> = [];
        for (let w = 1; w <= effectWeeks; w++) {
          const d = addDays(day, -7 * w);
          baselineDays.push({ day: d, figure: (await figuresOf(d)).get(currency) });
        }
        const counted = baselineDays.filter((b) => b.figure && b.figure.volume >= minVolume);
        if (counted.length < minBaseline) {
          note(
            `${scope}: ${counted.length} of the previous ${effectWeeks} ${weekdayName(day)}s had ${minVolume} or more ${metric.unit}, ${minBaseline} needed; not compared`,
          );
          continue;
        }
        const baseline = median(counted.map((b) => b.figure!.value));
        const judged = metric.judge(figure.value, baseline, ctx.options);
        if (!judged) continue;
        const history = baselineDays
          .map((b) =>
            b.figure && b.figure.volume >= minVolume
              ? `${b.day} ${b.figure.shown} on ${b.figure.volume} ${metric.unit}`
              : `${b.day} not counted, ${b.figure?.volume ?? 0n} ${metric.unit}`,
          )
          .join(', ');
        const detail =
          `${region} ${day} (${REGIONS[region]!.timeZone}): ${metric.label} ${figure.shown} over ${figure.volume} ${metric.unit} (${figure.basis}); ` +
          `baseline ${metric.show(baseline, currency)}, the median of the previous ${effectWeeks} ${weekdayName(day)}s: ${history}; ` +
          `${judged.shift}, threshold ${judged.threshold}`;
        findings.push({
          rule: metric.rule,
          severity: 'WARNING',
          entity: scope,
          detail: detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX - 1)}…` : detail,
        });
      }
    }
    if (!seen) idle.push(region);
  }
  if (idle.length > 0)
    note(`no ${metric.unit} on the days checked in ${idle.join(', ')}; nothing to compare`);
  return findings;
}

/** The median of non-empty `values`; of an even count, the mean of the middle two (rounded down). */
export function median(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
}

/** The days named by open findings (`SG/2026-11-16/SGD`), per region. */
function openDays(entities: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of entities) {
    const m = /^([A-Z]{2})\/(\d{4}-\d{2}-\d{2})\/[A-Z]{3}$/.exec(e);
    if (!m || !REGIONS[m[1]!] || !isDay(m[2]!)) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}
