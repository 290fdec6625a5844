import { Registry } from 'prom-client';
import type { Knex } from '../../../runtime/db/knex';
import { createLogger } from '../../../runtime/logger';
import { median } from '../../../services/recon/daily-compare';
import { dayRange } from '../../../services/recon/local-day';
import { listFindings } from '../../../services/recon/finding-store';
import { ReconRunner, type ReconRunResult } from '../../../services/recon/recon-runner';
import {
  AVG_PAYOUT_DAY_SQL,
  dailyAvgPayout,
  percentChange,
} from '../../../services/recon/rules/daily-avg-payout';
import {
  dailyTakeRate,
  formatBps,
  takeRateBps,
  TAKE_RATE_DAY_SQL,
} from '../../../services/recon/rules/daily-take-rate';
import { useTestResources } from '../../fixtures/resources';

/**
 * The daily effect rules on five weeks of steady SG data: 60 commission charges every local day
 * (order values SGD 100 to 600, take rate 998 to 1002 bps by the day of the month) and, each
 * Monday, the close's 60 payouts (average SGD 4,800 to 5,200) plus two CARRIED_FORWARD ones that
 * must not count. Every row is timed in Singapore's day (a charge every 24 minutes from local
 * midnight, payouts at 00:05 local, which is the previous UTC day), so the exact sums asserted
 * below hold only if "the day" is the local one. MY has one week of history only, with a jump in
 * both figures that must be skipped, not raised. The run's clock is Tuesday 2026-11-17 12:00 SGT:
 * the days checked are Monday 2026-11-16 and Tuesday so far (30 charges, under the minimum).
 */
const r = useTestResources();
let db: Knex;
let runner: ReconRunner;

const NOW = new Date('2026-11-17T04:00:00.000Z');
const MONDAY = '2026-11-16';
const SG_AVERAGES: Record<string, bigint> = {
  '2026-10-19': 510_000n,
  '2026-10-26': 520_000n,
  '2026-11-02': 480_000n,
  '2026-11-09': 500_000n,
  '2026-11-16': 505_000n,
};

const sql = (q: string, b: unknown[] = []) => db.raw(q, b as never[]);
const days = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (
    let d = new Date(`${from}T12:00:00Z`);
    d <= new Date(`${to}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1)
  )
    out.push(d.toISOString().slice(0, 10));
  return out;
};
const rateOf = (day: string) => 998n + (BigInt(Number(day.slice(8))) % 5n);

let orderId = 700_000_000_000_000_000n;
let payoutId = 652_100_000_000_000_000n;

async function seedCharges(
  region: string,
  currency: string,
  list: string[],
  rate: (day: string) => bigint,
) {
  const rows = [];
  for (const day of list) {
    const { from } = dayRange(region, day);
    for (let i = 0; i < 60; i++) {
      const at = new Date(from.getTime() + i * 24 * 60_000);
      if (at >= NOW) break;
      const amount = BigInt(i + 1) * 10_000n;
      orderId += 1n;
      rows.push({
        region,
        order_id: orderId.toString(),
        shop_user_id: (652_024_209_990_000_000n + BigInt(i % 7)).toString(),
        currency,
        request_id: `evt-${orderId}`,
        rule_id: 1,
        rule_version: 1,
        rule_category: '*',
        order_amount_minor: amount.toString(),
        fee_minor: ((amount * rate(day)) / 10_000n).toString(),
        affiliate_credit_minor: '0',
        created_at: at,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 1000)
    await db('commission_charge').insert(rows.slice(i, i + 1000));
}

async function seedPayouts(region: string, currency: string, averages: Record<string, bigint>) {
  const rows = [];
  for (const [day, average] of Object.entries(averages)) {
    const { from } = dayRange(region, day);
    const cycle = BigInt(day.replace(/-/g, '')) - 7n; // the week before; only has to be distinct
    const row = (k: number, amount: bigint, status: string) => {
      payoutId += 1n;
      return {
        id: payoutId.toString(),
        cycle_id: cycle.toString(),
        region,
        shop_user_id: (652_024_209_990_000_000n + BigInt(k)).toString(),
        currency,
        amount_minor: amount.toString(),
        status,
        created_at: new Date(from.getTime() + 5 * 60_000 + k * 1000),
      };
    };
    for (let k = 0; k < 60; k++)
      rows.push(row(k, average + (k % 2 === 0 ? 5_000n : -5_000n), 'PAID'));
    for (let k = 60; k < 62; k++) rows.push(row(k, 50n, 'CARRIED_FORWARD'));
  }
  await db('payout').insert(rows);
}

beforeAll(async () => {
  ({ db } = await r.database());
  await seedCharges('SG', 'SGD', days('2026-10-13', '2026-11-17'), rateOf);
  await seedPayouts('SG', 'SGD', SG_AVERAGES);
  // MY: one earlier week only, and a Monday that would fire if it had history.
  await seedCharges('MY', 'MYR', days('2026-11-09', '2026-11-17'), (d) =>
    d === MONDAY ? 2000n : 1000n,
  );
  await seedPayouts('MY', 'MYR', { '2026-11-09': 500_000n, '2026-11-16': 1_500_000n });
  await sql('ANALYZE TABLE commission_charge, payout');
  runner = new ReconRunner(
    { db, logger: createLogger('daily-effects-test', 'warn'), metrics: new Registry() },
    {},
    [dailyTakeRate, dailyAvgPayout],
  );
  r.defer(() => runner.close());
}, 120_000);

async function run(): Promise<ReconRunResult> {
  const result = await runner.run({ now: NOW });
  expect(result.rules.map((x) => [x.rule, x.ok])).toEqual([
    ['daily-take-rate', true],
    ['daily-avg-payout', true],
  ]);
  return result;
}

const notesOf = (result: ReconRunResult, rule: string) =>
  result.rules.find((x) => x.rule === rule)?.notes ?? [];

async function expectResolvedAfter(
  undo: string,
  bindings: unknown[],
  rule: string,
  entity: string,
) {
  await sql(undo, bindings);
  const after = await run();
  expect(after.open).toEqual([]);
  const all = await listFindings(db, { all: true, rule });
  expect(all.find((f) => f.entity === entity)?.resolvedAt).toBeInstanceOf(Date);
}

describe('daily effect rules', () => {
  test('steady weeks raise nothing', async () => {
    const result = await run();
    expect(result.open).toEqual([]);
    expect(result.rules.map((x) => x.found)).toEqual([0, 0]);
  });

  test('too little volume or history raises nothing and is reported as skipped', async () => {
    const result = await run();
    expect(result.open).toEqual([]);
    // MY's Monday jumps in both figures, but it has one earlier Monday of the two needed.
    expect(notesOf(result, 'daily-take-rate')).toEqual([
      'SG/2026-11-17/SGD: 30 charges, fewer than 50; not compared',
      'MY/2026-11-17/MYR: 30 charges, fewer than 50; not compared',
      'MY/2026-11-16/MYR: 1 of the previous 4 Mondays had 50 or more charges, 2 needed; not compared',
      'no charges on the days checked in TH, VN, ID, PH, TW, BR; nothing to compare',
    ]);
    expect(notesOf(result, 'daily-avg-payout')).toEqual([
      'MY/2026-11-16/MYR: 1 of the previous 4 Mondays had 50 or more payouts, 2 needed; not compared',
      'no payouts on the days checked in TH, VN, ID, PH, TW, BR; nothing to compare',
    ]);
  });

  test('a day whose take rate jumps (a wrong rule) raises exactly the take-rate WARNING, with its numbers', async () => {
    const { from, to } = dayRange('SG', MONDAY);
    // Singapore's Monday is [Sunday 16:00Z, Monday 16:00Z).
    expect([from.toISOString(), to.toISOString()]).toEqual([
      '2026-11-15T16:00:00.000Z',
      '2026-11-16T16:00:00.000Z',
    ]);
    const setRate = `UPDATE commission_charge SET fee_minor = order_amount_minor * ? DIV 10000 WHERE region = 'SG' AND created_at >= ? AND created_at < ?`;
    await sql(setRate, [2000, from, to]);
    const result = await run();
    expect(result.open.map((f) => [f.rule, f.severity, f.entity])).toEqual([
      ['daily-take-rate', 'WARNING', 'SG/2026-11-16/SGD'],
    ]);
    expect(result.open[0]!.detail).toBe(
      'SG 2026-11-16 (Asia/Singapore): take rate 2,000 bps (20.00%) over 60 charges ' +
        '(SGD 36,600.00 commission on SGD 183,000.00 of orders); ' +
        'baseline 1,001 bps (10.01%), the median of the previous 4 Mondays: ' +
        '2026-11-09 1,002 bps (10.02%) on 60 charges, 2026-11-02 1,000 bps (10.00%) on 60 charges, ' +
        '2026-10-26 999 bps (9.99%) on 60 charges, 2026-10-19 1,002 bps (10.02%) on 60 charges; ' +
        'moved +999 bps, threshold 100 bps (STS_RECON_TAKE_RATE_SHIFT_BPS)',
    );
    // The rule that was meant: 999 bps on that Monday, back within the threshold.
    await expectResolvedAfter(setRate, [999, from, to], 'daily-take-rate', 'SG/2026-11-16/SGD');
  });

  test('a day whose average payout per seller jumps raises the average-payout WARNING, with its numbers', async () => {
    const { from, to } = dayRange('SG', MONDAY);
    const where = `region = 'SG' AND status = 'PAID' AND created_at >= ? AND created_at < ?`;
    await sql(`UPDATE payout SET amount_minor = amount_minor * 3 WHERE ${where}`, [from, to]);
    const result = await run();
    expect(result.open.map((f) => [f.rule, f.severity, f.entity])).toEqual([
      ['daily-avg-payout', 'WARNING', 'SG/2026-11-16/SGD'],
    ]);
    // The two CARRIED_FORWARD payouts of each Monday are in neither sum nor count.
    expect(result.open[0]!.detail).toBe(
      'SG 2026-11-16 (Asia/Singapore): average payout SGD 15,150.00 over 60 payouts ' +
        '(SGD 909,000.00 in all); ' +
        'baseline SGD 5,050.00, the median of the previous 4 Mondays: ' +
        '2026-11-09 SGD 5,000.00 on 60 payouts, 2026-11-02 SGD 4,800.00 on 60 payouts, ' +
        '2026-10-26 SGD 5,200.00 on 60 payouts, 2026-10-19 SGD 5,100.00 on 60 payouts; ' +
        'changed +200.0%, threshold 50% (STS_RECON_AVG_PAYOUT_SHIFT_PCT)',
    );
    await expectResolvedAfter(
      `UPDATE payout SET amount_minor = amount_minor DIV 3 WHERE ${where}`,
      [from, to],
      'daily-avg-payout',
      'SG/2026-11-16/SGD',
    );
  });

  test('each day is one covering range of the 0019 indexes', async () => {
    const { from, to } = dayRange('SG', MONDAY);
    const explain = async (q: string) => {
      const [plan] = (await sql(`EXPLAIN ${q}`, ['SG', from, to])) as unknown as [
        Array<{ table: string; type: string; key: string | null; Extra: string | null }>,
      ];
      return plan;
    };
    const charges = await explain(TAKE_RATE_DAY_SQL);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ type: 'range', key: 'ix_commission_charge_day' });
    expect(charges[0]!.Extra).toContain('Using index');
    const payouts = await explain(AVG_PAYOUT_DAY_SQL);
    expect(payouts).toHaveLength(1);
    expect(payouts[0]).toMatchObject({ type: 'range', key: 'ix_payout_region_day' });
    expect(payouts[0]!.Extra).toContain('Using index');
  });

  test('the arithmetic is bigint and exact at 18 digits', () => {
    expect(takeRateBps(1_828_170n, 18_300_000n)).toBe(999n);
    expect(takeRateBps(1n, 20_000n)).toBe(1n); // 0.5 bps rounds half up
    expect(takeRateBps(123_456_789_012_345_678n, 987_654_321_098_765_432n)).toBe(1250n);
    expect(formatBps(1250n)).toBe('1,250 bps (12.50%)');
    expect(percentChange(1_515_000n, 505_000n)).toBe('+200.0%');
    expect(percentChange(252_500n, 505_000n)).toBe('-50.0%');
    expect(median([999_999_999_999_999_999n, 1n, 3n, 999_999_999_999_999_997n])).toBe(
      500_000_000_000_000_000n,
    );
  });
});
