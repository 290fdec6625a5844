import type { Knex } from 'knex';
import { cycleBounds, cycleIdFor, nextCycleId } from '../../runtime/billing/cycle-calendar';
import { intList } from '../../runtime/db/int-list';
import type { PayoutRail, RailMap } from '../../runtime/payouts/payout-rails';
import {
  holdsAnomaly,
  PREVIEW_FLAG_DEFAULTS,
  rangeAnomalies,
  sellerJump,
  type Anomaly,
  type CycleFigures,
  type PreviewFlags,
} from './close-anomalies';
import { closeTarget } from './close-target';
import {
  cursorAfter,
  decidePage,
  FIRST_PAGE,
  readAccountPage,
  type AccountDecision,
} from './payout-decisions';
import type { HoldReason } from './payout-policy';
import { cycleRail } from './payout-snapshot';

/**
 * `sts settle close --preview`: what the close of a region's cycle would make (payouts, totals
 * per currency, carry-forwards, holds) beside the figures of its last closed cycles, with the
 * anomalies close-anomalies.ts flags. It reads the accounts page by page and decides each one with
 * the close's own code (payout-decisions.ts), so it cannot disagree with a close of the same data.
 *
 * Read-only by construction: every read runs in one READ ONLY transaction (the server refuses any
 * write in it), which also makes the preview one consistent snapshot across pages. It takes no
 * lock and does not wait for the watermark: of an OPEN cycle it shows the balances as they stand,
 * which items still in flight can change until the close starts.
 *
 *   inputs   region, cutoff (default: the latest that has passed, as the close), rails and cool-off
 *            (default STS_PAYOUT_RAILS, STS_PAYEE_COOLOFF_HOURS), flags (STS_PREVIEW_*)
 *   output   ClosePreview; onDecision sees every payout the close would create, in seller order
 *   failures STS_CLOSE_REFUSED (as the close: unknown region, not a cutoff, cycle not ended)
 */
const PAGE = 20_000;
/** Holds, carry-forwards and seller jumps listed one by one; beyond this only counted. */
export const PREVIEW_LIST_LIMIT = 100;

export interface PreviewOptions {
  region: string;
  cutoff?: Date;
  now?: Date;
  rails: RailMap;
  payeeCooloffHours: number;
  flags?: Partial<PreviewFlags>;
  onDecision?: (d: AccountDecision) => void;
}

export interface Figures {
  count: number;
  totalMinor: bigint;
}

export interface CurrencyPreview {
  currency: string;
  /** What the cycle pays: PENDING and ON_HOLD payouts above zero, as the history counts them. */
  payouts: number;
  totalMinor: bigint;
  averageMinor: bigint;
  pending: Figures;
  onHold: Figures;
  carriedForward: Figures;
}

export interface HistoryCycle {
  cycleId: bigint;
  currency: string;
  payouts: number;
  totalMinor: bigint;
  averageMinor: bigint;
}

export interface ListedPayout {
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  holdReason: HoldReason | null;
}

export interface ClosePreview {
  region: string;
  cycleId: bigint;
  cutoff: Date;
  cycleStatus: string;
  rail: PayoutRail;
  /** Payouts already made for this cycle (a resumed close skips their sellers). */
  existingPayouts: number;
  /** Payouts the close would create, by status. */
  byStatus: Record<string, number>;
  currencies: CurrencyPreview[];
  holds: ListedPayout[];
  carryForwards: ListedPayout[];
  /** The last closed cycles before this one, newest first, per currency. */
  history: HistoryCycle[];
  anomalies: Anomaly[];
  /** Seller jumps found beyond those listed in `anomalies`. */
  moreSellerJumps: number;
  flags: PreviewFlags;
}

export async function previewClose(db: Knex, opts: PreviewOptions): Promise<ClosePreview> {
  const now = opts.now ?? new Date();
  const { region, cycleId, cutoff } = closeTarget(opts.region, opts.cutoff, now);
  const flags: PreviewFlags = { ...PREVIEW_FLAG_DEFAULTS, ...opts.flags };
  return db.transaction(
    async (trx) => {
      const status =
        (
          (await trx('settlement_cycle')
            .where({ region, cycle_id: cycleId.toString() })
            .first('status')) as { status: string } | undefined
        )?.status ?? 'OPEN';
      const history = await historyCycles(trx, region, cycleId, flags.history);
      const preview: ClosePreview = {
        region,
        cycleId,
        cutoff,
        cycleStatus: status,
        rail: await cycleRail(trx, region, cycleId, opts.rails[region] ?? 'gateway'),
        existingPayouts: 0,
        byStatus: {},
        currencies: [],
        holds: [],
        carryForwards: [],
        history: history.figures,
        anomalies: [],
        moreSellerJumps: 0,
        flags,
      };
      if (status === 'CLOSED') return preview;

      const scope = {
        region,
        cycleId,
        nextCycleId: await nextOpenCycle(trx, region, cutoff),
        cooloffStart: new Date(now.getTime() - opts.payeeCooloffHours * 3_600_000),
      };
      const byCurrency = new Map<string, CurrencyPreview>();
      const jumps: Anomaly[] = [];
      let holds = 0;
      for (let after = FIRST_PAGE; ;) {
        const page = await readAccountPage(trx, region, cycleId, after, PAGE);
        if (page.length === 0) break;
        after = cursorAfter(page);
        const { existing, decisions } = await decidePage(trx, scope, page);
        preview.existingPayouts += existing;
        const previousMax = await sellersPreviousMax(trx, region, history.cycleIds, page);
        for (const d of decisions) {
          opts.onDecision?.(d);
          preview.byStatus[d.status] = (preview.byStatus[d.status] ?? 0) + 1;
          const c = byCurrency.get(d.currency) ?? emptyCurrency(d.currency);
          byCurrency.set(d.currency, c);
          const listed = {
            shopUserId: d.shopUserId,
            currency: d.currency,
            amountMinor: d.net,
            holdReason: d.holdReason,
          };
          if (d.status === 'CARRIED_FORWARD') {
            add(c.carriedForward, d.net);
            if (preview.carryForwards.length < PREVIEW_LIST_LIMIT)
              preview.carryForwards.push(listed);
            continue;
          }
          if (d.status === 'ON_HOLD') {
            holds++;
            add(c.onHold, d.net);
            if (preview.holds.length < PREVIEW_LIST_LIMIT) preview.holds.push(listed);
          } else add(c.pending, d.net);
          if (d.net <= 0n) continue;
          c.payouts++;
          c.totalMinor += d.net;
          const jump = sellerJump(
            d.currency,
            d.shopUserId,
            d.net,
            previousMax.get(`${d.shopUserId}|${d.currency}`),
            BigInt(flags.sellerFactor),
          );
          if (jump && jumps.length < PREVIEW_LIST_LIMIT) jumps.push(jump);
          else if (jump) preview.moreSellerJumps++;
        }
      }

      for (const c of [...byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1))) {
        c.averageMinor = c.payouts > 0 ? c.totalMinor / BigInt(c.payouts) : 0n;
        preview.currencies.push(c);
        const past = history.figures
          .filter((h) => h.currency === c.currency)
          .map((h): CycleFigures => ({ payouts: BigInt(h.payouts), totalMinor: h.totalMinor }));
        preview.anomalies.push(
          ...rangeAnomalies(
            c.currency,
            { payouts: BigInt(c.payouts), totalMinor: c.totalMinor },
            past,
            BigInt(flags.factor),
          ),
        );
      }
      preview.anomalies.push(...jumps);
      const many = holdsAnomaly(holds, flags.holds);
      if (many) preview.anomalies.push(many);
      return preview;
    },
    { readOnly: true },
  );
}

function emptyCurrency(currency: string): CurrencyPreview {
  const none = (): Figures => ({ count: 0, totalMinor: 0n });
  return {
    currency,
    payouts: 0,
    totalMinor: 0n,
    averageMinor: 0n,
    pending: none(),
    onHold: none(),
    carriedForward: none(),
  };
}

function add(f: Figures, amount: bigint): void {
  f.count++;
  f.totalMinor += amount;
}

/**
 * The region's last `n` closed cycles before this one and, per currency, what each paid (positive
 * payouts other than CARRIED_FORWARD, as reconciliation's cycle-anomaly rule counts them).
 * Query: uq_payout_seller_cycle, a range over a few cycles.
 */
async function historyCycles(
  trx: Knex.Transaction,
  region: string,
  cycleId: bigint,
  n: number,
): Promise<{ cycleIds: bigint[]; figures: HistoryCycle[] }> {
  const cycles = (
    (await trx('settlement_cycle')
      .where({ region, status: 'CLOSED' })
      .where('cycle_id', '<', cycleId.toString())
      .orderBy('cycle_id', 'desc')
      .limit(n)
      .select(trx.raw('CAST(cycle_id AS CHAR) AS cycle_id'))) as Array<{ cycle_id: string }>
  ).map((c) => BigInt(c.cycle_id));
  if (cycles.length === 0) return { cycleIds: [], figures: [] };
  const [rows] = (await trx.raw(
    `SELECT CAST(cycle_id AS CHAR) AS cycle_id, currency, CAST(SUM(amount_minor) AS CHAR) AS total, COUNT(*) AS payouts
       FROM payout WHERE region = ? AND cycle_id IN (${intList(cycles)}) AND status <> 'CARRIED_FORWARD' AND amount_minor > 0
      GROUP BY cycle_id, currency ORDER BY cycle_id DESC, currency`,
    [region],
  )) as [Array<{ cycle_id: string; currency: string; total: string; payouts: string | number }>];
  const figures = rows.map((r) => {
    const payouts = Number(r.payouts);
    const totalMinor = BigInt(r.total);
    return {
      cycleId: BigInt(r.cycle_id),
      currency: r.currency,
      payouts,
      totalMinor,
      averageMinor: totalMinor / BigInt(payouts),
    };
  });
  return { cycleIds: cycles, figures };
}

/** Each page seller's largest payout of the history cycles, per currency: one range per cycle. */
async function sellersPreviousMax(
  trx: Knex.Transaction,
  region: string,
  cycles: bigint[],
  page: ReadonlyArray<{ shop_user_id: string }>,
): Promise<Map<string, bigint>> {
  if (cycles.length === 0) return new Map();
  const [rows] = (await trx.raw(
    `SELECT CAST(shop_user_id AS CHAR) AS seller, currency, CAST(MAX(amount_minor) AS CHAR) AS top FROM payout
      WHERE region = ? AND cycle_id IN (${intList(cycles)}) AND shop_user_id BETWEEN ? AND ? AND status <> 'CARRIED_FORWARD' AND amount_minor > 0
      GROUP BY shop_user_id, currency`,
    [
      region,
      BigInt(page[0]!.shop_user_id),
      BigInt(page[page.length - 1]!.shop_user_id),
    ] as unknown as string[],
  )) as [Array<{ seller: string; currency: string; top: string }>];
  return new Map(rows.map((r) => [`${r.seller}|${r.currency}`, BigInt(r.top)]));
}

/**
 * The open cycle a carry-forward would go to, as CycleResolver finds it, without its locks and
 * without creating the row: a missing cycle is one the close would create OPEN.
 */
async function nextOpenCycle(trx: Knex.Transaction, region: string, cutoff: Date): Promise<bigint> {
  const first = cycleIdFor(region, cutoff);
  const last = cycleIdFor(
    region,
    new Date(cycleBounds(region, first).startsAt.getTime() + 520 * 7 * 86_400_000),
  );
  const known = new Map(
    (
      (await trx('settlement_cycle')
        .where({ region })
        .whereBetween('cycle_id', [first.toString(), last.toString()])
        .select(trx.raw('CAST(cycle_id AS CHAR) AS cycle_id'), 'status')) as Array<{
        cycle_id: string;
        status: string;
      }>
    ).map((c) => [BigInt(c.cycle_id), c.status]),
  );
  let cycleId = first;
  // Bounded as CycleResolver's walk is; past it the close itself fails with STS_NO_OPEN_CYCLE.
  for (let i = 0; i < 520 && (known.get(cycleId) ?? 'OPEN') !== 'OPEN'; i++)
    cycleId = nextCycleId(region, cycleId);
  return cycleId;
}
