import type { Knex } from '../../../runtime/db/knex';
import { formatMoney } from '../../../runtime/money/money-text';
import { checkDaily, type DailyMetric, type DayFigure } from '../daily-compare';
import { rows } from '../recon-sql';
import type { ReconRule } from '../recon-types';

/**
 * The average payout of a region's local day, against the same weekday of the previous weeks
 * (daily-compare.ts): Σ amount_minor / count of the payouts the close made that day
 * (payout.created_at), rounded down. Payouts are made by the weekly close, so in practice this
 * compares each close with the previous closes, the day they ran; the other days have no payouts
 * and are skipped for volume.
 *
 * "Payout" is what the close pays, as in cycle-anomaly: a positive amount, not CARRIED_FORWARD.
 * Each is one seller's for one cycle, so this is the average per seller, and a catch-up close of
 * two cycles on one day does not double it. A relative change of more than `avgPayoutShiftPct`
 * percent (default 50) from the baseline is a WARNING: a commission rule that charges too much
 * or too little, a doubled feed, a unit slip all move what a seller is paid before any total looks
 * odd. All arithmetic is bigint; the sums arrive from MySQL as DECIMAL text.
 */
export const RULE = 'daily-avg-payout';

/** One local day of one region: ix_payout_region_day range, covering (migration 0019). */
export const AVG_PAYOUT_DAY_SQL = `SELECT currency, CAST(COUNT(*) AS CHAR) AS payouts,
       CAST(SUM(amount_minor) AS CHAR) AS total
  FROM payout
 WHERE region = ? AND created_at >= ? AND created_at < ?
   AND status <> 'CARRIED_FORWARD' AND amount_minor > 0
 GROUP BY currency`;

/** (value - baseline) / baseline in percent with one decimal, signed: "+200.0%". */
export function percentChange(value: bigint, baseline: bigint): string {
  const tenths = ((value - baseline) * 1000n) / baseline;
  const abs = tenths < 0n ? -tenths : tenths;
  return `${value < baseline ? '-' : '+'}${abs / 10n}.${abs % 10n}%`;
}

const metric: DailyMetric = {
  rule: RULE,
  label: 'average payout',
  unit: 'payouts',
  async read(db: Knex, region: string, from: Date, to: Date) {
    const found = await rows<{ currency: string; payouts: string; total: string }>(
      db,
      AVG_PAYOUT_DAY_SQL,
      [region, from, to],
    );
    const out = new Map<string, DayFigure>();
    for (const r of found) {
      const count = BigInt(r.payouts);
      const total = BigInt(r.total);
      const average = total / count;
      out.set(r.currency, {
        volume: count,
        value: average,
        shown: formatMoney(average, r.currency),
        basis: `${formatMoney(total, r.currency)} in all`,
      });
    }
    return out;
  },
  show: (value, currency) => formatMoney(value, currency),
  judge(value, baseline, options) {
    const pct = BigInt(options.avgPayoutShiftPct);
    // Counted payouts are positive, so a counted day's average is at least 1 minor unit.
    if (baseline <= 0n) return undefined;
    const diff = value - baseline;
    if ((diff < 0n ? -diff : diff) * 100n <= pct * baseline) return undefined;
    return {
      shift: `changed ${percentChange(value, baseline)}`,
      threshold: `${pct}% (STS_RECON_AVG_PAYOUT_SHIFT_PCT)`,
    };
  },
};

export const dailyAvgPayout: ReconRule = {
  name: RULE,
  description:
    "a region's average payout of the day within a percentage of the same weekday's in the previous weeks",
  check: (ctx) => checkDaily(ctx, metric),
};
