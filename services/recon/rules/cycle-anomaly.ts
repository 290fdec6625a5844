import { intList } from '../../../runtime/db/int-list';
import { formatMoney } from '../../../runtime/money/money-text';
import { cyclesFromEntities, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 9 (docs/DESIGN.md, lesson 10: period over period): a region's newest closed cycle pays about
 * what the cycles before it paid. Its payout total, and its average payout per seller, are compared
 * with the mean of the previous up to `anomalyHistory` closed cycles (default 4); beyond
 * `anomalyFactor` (default 3: above ×3 or below ÷3) is a WARNING, because a tenfold week is far
 * more often a bug (a doubled feed, a unit slip) than a sale. No history is an INFO.
 *
 * "Payout" here is what the cycle pays: payouts with a positive amount that are not
 * CARRIED_FORWARD, one per seller and currency. Query: uq_payout_seller_cycle, a range over the
 * region's few cycles. All arithmetic is bigint; ratios are shown to one decimal.
 */
export const RULE = 'cycle-anomaly';

interface Stat {
  total: bigint;
  sellers: bigint;
}

export const cycleAnomaly: ReconRule = {
  name: RULE,
  description:
    "a region's newest closed cycle: payout total and payout per seller within a factor of the previous cycles' mean",
  async check(ctx) {
    const closed = await rows<{ region: string; cycle_id: string }>(
      ctx.db,
      `SELECT region, CAST(cycle_id AS CHAR) AS cycle_id FROM settlement_cycle WHERE status = 'CLOSED' ORDER BY region, cycle_id DESC`,
    );
    const byRegion = new Map<string, bigint[]>();
    for (const c of closed)
      byRegion.set(c.region, [...(byRegion.get(c.region) ?? []), BigInt(c.cycle_id)]);
    const targets = new Map<string, { region: string; cycleId: bigint }>();
    for (const [region, cycles] of byRegion)
      targets.set(`${region}/${cycles[0]}`, { region, cycleId: cycles[0]! });
    for (const c of cyclesFromEntities(ctx.open.keys()))
      if (byRegion.get(c.region)?.includes(c.cycleId)) targets.set(`${c.region}/${c.cycleId}`, c);

    const findings: Finding[] = [];
    for (const { region, cycleId } of targets.values()) {
      const cycles = byRegion.get(region)!;
      const history = cycles.filter((c) => c < cycleId).slice(0, ctx.options.anomalyHistory);
      const stats = await cycleStats(ctx.db, region, [cycleId, ...history]);
      const currencies = new Set([...stats.keys()].map((k) => k.split('|')[1]!));
      for (const currency of currencies) {
        const at = (c: bigint): Stat => stats.get(`${c}|${currency}`) ?? { total: 0n, sellers: 0n };
        findings.push(
          ...judge(
            `${region}/${cycleId}/${currency}`,
            currency,
            at(cycleId),
            history.map(at),
            BigInt(ctx.options.anomalyFactor),
          ),
        );
      }
    }
    return findings;
  },
};

async function cycleStats(
  db: Parameters<typeof rows>[0],
  region: string,
  cycles: bigint[],
): Promise<Map<string, Stat>> {
  const found = await rows<{
    cycle_id: string;
    currency: string;
    total: string;
    sellers: string | number;
  }>(
    db,
    `SELECT CAST(cycle_id AS CHAR) AS cycle_id, currency, CAST(SUM(amount_minor) AS CHAR) AS total, COUNT(*) AS sellers
       FROM payout WHERE region = ? AND cycle_id IN (${intList(cycles)}) AND status <> 'CARRIED_FORWARD' AND amount_minor > 0
      GROUP BY cycle_id, currency`,
    [region],
  );
  return new Map(
    found.map((f) => [
      `${f.cycle_id}|${f.currency}`,
      { total: BigInt(f.total), sellers: BigInt(f.sellers) },
    ]),
  );
}

function judge(
  scope: string,
  currency: string,
  now: Stat,
  history: Stat[],
  factor: bigint,
): Finding[] {
  const info = (detail: string): Finding[] => [
    { rule: RULE, severity: 'INFO', entity: `${scope}/total`, detail },
  ];
  if (history.length === 0)
    return info(
      `no earlier closed cycle to compare with; this cycle pays ${formatMoney(now.total, currency)} to ${now.sellers} sellers`,
    );
  const meanTotal = history.reduce((s, h) => s + h.total, 0n) / BigInt(history.length);
  const paying = history.filter((h) => h.sellers > 0n);
  if (meanTotal === 0n || paying.length === 0)
    return info(
      `the previous ${history.length} closed cycle(s) paid nothing in ${currency}; nothing to compare with`,
    );
  const out: Finding[] = [];
  const check = (what: string, entity: string, value: bigint, mean: bigint) => {
    if (value <= factor * mean && value * factor >= mean) return;
    out.push({
      rule: RULE,
      severity: 'WARNING',
      entity: `${scope}/${entity}`,
      detail: `${what} ${formatMoney(value, currency)} is ${ratio(value, mean)}× the mean ${formatMoney(mean, currency)} of the previous ${history.length} closed cycle(s) (flagged beyond ×${factor} or ÷${factor})`,
    });
  };
  check('payout total', 'total', now.total, meanTotal);
  const meanAvg = paying.reduce((s, h) => s + h.total / h.sellers, 0n) / BigInt(paying.length);
  if (meanAvg > 0n)
    check(
      'payout per seller',
      'per-seller',
      now.sellers > 0n ? now.total / now.sellers : 0n,
      meanAvg,
    );
  return out;
}

/** value / mean to one decimal, in bigint. */
function ratio(value: bigint, mean: bigint): string {
  const tenths = (value * 10n) / mean;
  return `${tenths / 10n}.${tenths % 10n}`;
}
