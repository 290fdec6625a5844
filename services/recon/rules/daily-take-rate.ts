import type { Knex } from '../../../runtime/db/knex';
import { formatMoney, groupedMajor } from '../../../runtime/money/money-text';
import { checkDaily, type DailyMetric, type DayFigure } from '../daily-compare';
import { rows } from '../recon-sql';
import type { ReconRule } from '../recon-types';

/**
 * The commission take rate of a region's local day, against the same weekday of the previous
 * weeks (daily-compare.ts): Σ fee_minor / Σ order_amount_minor of the charges the commission
 * processor made that day (commission_charge.created_at), in basis points, rounded half up. A
 * wrong commission rule version (a rate typed as 20% instead of 2.0%, a cap left off) moves it at
 * once, while the month's totals would hide it for weeks. A move of more than `takeRateShiftBps`
 * (default 100) from the baseline is a WARNING; the rule cannot know which move is intended.
 *
 * The fee is what was charged, before clawbacks: refunds come days later and would move the
 * figure of a day that is already judged. All arithmetic is bigint; the sums arrive from MySQL as
 * DECIMAL text.
 */
export const RULE = 'daily-take-rate';

/** One local day of one region: ix_commission_charge_day range, covering (migration 0019). */
export const TAKE_RATE_DAY_SQL = `SELECT currency, CAST(COUNT(*) AS CHAR) AS charges,
       CAST(SUM(fee_minor) AS CHAR) AS fees, CAST(SUM(order_amount_minor) AS CHAR) AS orders
  FROM commission_charge
 WHERE region = ? AND created_at >= ? AND created_at < ?
 GROUP BY currency`;

/** "1,250 bps (12.50%)". */
export function formatBps(bps: bigint): string {
  return `${groupedMajor(bps, 0)} bps (${groupedMajor(bps, 2)}%)`;
}

/** fees / orders in bps, rounded half away from zero. */
export function takeRateBps(fees: bigint, orders: bigint): bigint {
  const scaled = fees * 10_000n * 2n;
  const half = scaled >= 0n ? orders : -orders;
  return (scaled + half) / (2n * orders);
}

const metric: DailyMetric = {
  rule: RULE,
  label: 'take rate',
  unit: 'charges',
  async read(db: Knex, region: string, from: Date, to: Date) {
    const found = await rows<{ currency: string; charges: string; fees: string; orders: string }>(
      db,
      TAKE_RATE_DAY_SQL,
      [region, from, to],
    );
    const out = new Map<string, DayFigure>();
    for (const r of found) {
      const orders = BigInt(r.orders);
      const fees = BigInt(r.fees);
      // Orders are positive amounts; a day summing to nothing has no rate to compare.
      if (orders <= 0n) continue;
      const bps = takeRateBps(fees, orders);
      out.set(r.currency, {
        volume: BigInt(r.charges),
        value: bps,
        shown: formatBps(bps),
        basis: `${formatMoney(fees, r.currency)} commission on ${formatMoney(orders, r.currency)} of orders`,
      });
    }
    return out;
  },
  show: (bps) => formatBps(bps),
  judge(value, baseline, options) {
    const move = value - baseline;
    const limit = BigInt(options.takeRateShiftBps);
    if (move <= limit && -move <= limit) return undefined;
    return {
      shift: `moved ${move > 0n ? '+' : '-'}${groupedMajor(move < 0n ? -move : move, 0)} bps`,
      threshold: `${groupedMajor(limit, 0)} bps (STS_RECON_TAKE_RATE_SHIFT_BPS)`,
    };
  },
};

export const dailyTakeRate: ReconRule = {
  name: RULE,
  description:
    "a region's commission take rate of the day (bps of order value) within a threshold of the same weekday's in the previous weeks",
  check: (ctx) => checkDaily(ctx, metric),
};
