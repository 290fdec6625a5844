import type { Knex } from 'knex';
import { cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { IN_LIST_MAX, intList } from '../../runtime/db/int-list';
import { formatMoney } from '../../runtime/money/money-text';
import { regionInfo } from '../../runtime/money/regions';
import type { UploadCheckBounds } from '../../runtime/uploads/upload-check-bounds';
import type { FileTally } from './upload-tally';
import type { UploadWarning, UploadWarningCode } from './upload-warnings';

/**
 * The checks an upload passes before anything of it is booked: a file that fails one is held for
 * an operator, who either confirms it or cancels it. They answer the incidents of files with a
 * misplaced decimal point or a column of cents read as units: each row valid, the file as a whole
 * nothing like the sellers' business.
 *
 *   - TOO_MUCH_MONEY: per currency, the money the file moves (the sum of its rows' magnitudes)
 *     above maxTotalMinor.
 *   - TOO_MANY_SELLERS: more (region, seller) accounts than maxSellers.
 *   - SELLER_TOTAL_ABOVE_HISTORY: a seller's net total in the file, in magnitude, above
 *     sellerFactor times its largest cycle balance (in magnitude) of the last historyCycles cycles.
 *   - ROW_ABOVE_HISTORY: the seller's largest row, in magnitude, above rowFactor times its typical
 *     item: the largest per-cycle mean item (|balance| / item count, rounded up) of those cycles.
 *
 * History is read from settlement_account, one row per seller and cycle, by its primary key
 * (region, seller, currency, cycle): a few index dives per seller, batched IN_LIST_MAX sellers a
 * statement, however many items the sellers have. A seller with no account in the window, or only
 * zero balances, has no history to compare with and is checked by the file-wide bounds only.
 *
 * At most MAX_LISTED warnings of one code are listed, the largest excess first; one more warning
 * says how many further sellers passed the same check.
 */
export const MAX_LISTED = 100;

export async function checkUpload(db: Knex, tally: FileTally, bounds: UploadCheckBounds, now = new Date()): Promise<UploadWarning[]> {
  const warnings: UploadWarning[] = [...moneyWarnings(tally, bounds), ...sellerCountWarnings(tally, bounds)];
  if (bounds.sellerFactor === 0n && bounds.rowFactor === 0n) return warnings;
  const totals: Excess[] = [];
  const rows: Excess[] = [];
  for (const [region, sellers] of tally.sellers) {
    const currency = regionInfo(region)!.currency;
    const history = await readHistory(db, region, currency, [...sellers.keys()], cycleIdFor(region, new Date(now.getTime() - (bounds.historyCycles - 1) * WEEK_MS)));
    for (const [seller, t] of sellers) {
      const h = history.get(seller);
      if (!h) continue;
      if (bounds.sellerFactor > 0n && h.largestCycle > 0n && abs(t.total) > bounds.sellerFactor * h.largestCycle) {
        totals.push({ region, currency, seller, amount: t.total, history: h.largestCycle, bound: bounds.sellerFactor * h.largestCycle, row: null });
      }
      if (bounds.rowFactor > 0n && h.typicalItem > 0n && abs(t.largestRow) > bounds.rowFactor * h.typicalItem) {
        rows.push({ region, currency, seller, amount: t.largestRow, history: h.typicalItem, bound: bounds.rowFactor * h.typicalItem, row: t.largestRowNumber });
      }
    }
  }
  const window = `the last ${bounds.historyCycles} cycle${bounds.historyCycles === 1 ? '' : 's'}`;
  warnings.push(
    ...listed('SELLER_TOTAL_ABOVE_HISTORY', totals, (e) => `seller ${e.seller} (${e.region}): ${formatMoney(e.amount, e.currency)} in this file, above ${bounds.sellerFactor} × its largest cycle balance of ${window} (${formatMoney(e.history, e.currency)}) = ${formatMoney(e.bound, e.currency)}`, (n) => `and ${n} more seller${n === 1n ? '' : 's'} whose total in this file is above ${bounds.sellerFactor} × their largest cycle balance`),
    ...listed('ROW_ABOVE_HISTORY', rows, (e) => `row ${e.row}, seller ${e.seller} (${e.region}): ${formatMoney(e.amount, e.currency)}, above ${bounds.rowFactor} × its typical item of ${window} (${formatMoney(e.history, e.currency)}) = ${formatMoney(e.bound, e.currency)}`, (n) => `and ${n} more seller${n === 1n ? '' : 's'} with a row above ${bounds.rowFactor} × their typical item`),
  );
  return warnings;
}

const WEEK_MS = 7 * 86_400_000;

interface Excess {
  region: string;
  currency: string;
  seller: bigint;
  amount: bigint;
  history: bigint;
  bound: bigint;
  row: bigint | null;
}

interface SellerHistory {
  largestCycle: bigint;
  typicalItem: bigint;
}

function moneyWarnings(tally: FileTally, bounds: UploadCheckBounds): UploadWarning[] {
  const out: UploadWarning[] = [];
  for (const [currency, gross] of [...tally.grossByCurrency].sort(([a], [b]) => a.localeCompare(b))) {
    const bound = bounds.maxTotalMinor.get(currency) ?? 0n;
    if (bound === 0n || gross <= bound) continue;
    out.push({
      ...blank('TOO_MUCH_MONEY'),
      currency,
      amountMinor: gross,
      boundMinor: bound,
      message: `the file moves ${formatMoney(gross, currency)} (its ${currency} rows added up in magnitude), above the bound of ${formatMoney(bound, currency)} (STS_UPLOAD_MAX_TOTAL)`,
    });
  }
  return out;
}

function sellerCountWarnings(tally: FileTally, bounds: UploadCheckBounds): UploadWarning[] {
  if (tally.sellerCount <= bounds.maxSellers && !tally.moreSellers) return [];
  // Past the tally's limit only "one more" is known, not how many more.
  const touched = tally.moreSellers ? `at least ${group(tally.sellerCount + 1)}` : group(tally.sellerCount);
  return [
    {
      ...blank('TOO_MANY_SELLERS'),
      count: BigInt(tally.sellerCount),
      boundMinor: BigInt(bounds.maxSellers),
      message: `the file touches ${touched} sellers, above the bound of ${group(bounds.maxSellers)} (STS_UPLOAD_MAX_SELLERS)${tally.moreSellers ? `; the history checks covered the first ${group(tally.sellerCount)}` : ''}`,
    },
  ];
}

/** The largest excesses first (amount / bound, compared by cross-multiplying), then a summary. */
function listed(code: UploadWarningCode, found: Excess[], say: (e: Excess) => string, more: (n: bigint) => string): UploadWarning[] {
  found.sort((a, b) => {
    const l = abs(a.amount) * b.bound;
    const r = abs(b.amount) * a.bound;
    return l > r ? -1 : l < r ? 1 : a.seller < b.seller ? -1 : 1;
  });
  const out: UploadWarning[] = found.slice(0, MAX_LISTED).map((e) => ({
    code,
    region: e.region,
    currency: e.currency,
    shopUserId: e.seller,
    rowNumber: e.row,
    amountMinor: e.amount,
    historyMinor: e.history,
    boundMinor: e.bound,
    count: null,
    message: say(e),
  }));
  if (found.length > MAX_LISTED) {
    const n = BigInt(found.length - MAX_LISTED);
    out.push({ ...blank(code), count: n, message: more(n) });
  }
  return out;
}

/**
 * Per seller of one region, over the cycles from `fromCycle`: the largest |balance| and the
 * largest mean item, |balance| / item_count rounded up in integer arithmetic. Integer literals
 * and the primary key named (int-list.ts says why), IN_LIST_MAX sellers a statement.
 */
async function readHistory(db: Knex, region: string, currency: string, sellers: bigint[], fromCycle: bigint): Promise<Map<bigint, SellerHistory>> {
  const out = new Map<bigint, SellerHistory>();
  for (let i = 0; i < sellers.length; i += IN_LIST_MAX) {
    const [rows] = (await db.raw(
      `SELECT shop_user_id, MAX(ABS(balance_minor)) AS largest_cycle,
              MAX(CASE WHEN item_count > 0 THEN (ABS(balance_minor) + item_count - 1) DIV item_count ELSE 0 END) AS typical_item
         FROM settlement_account FORCE INDEX (PRIMARY)
        WHERE region = ? AND shop_user_id IN (${intList(sellers.slice(i, i + IN_LIST_MAX))}) AND currency = ? AND cycle_id >= ${intList([fromCycle])}
        GROUP BY shop_user_id`,
      [region, currency],
    )) as [Array<{ shop_user_id: string | number; largest_cycle: string | number; typical_item: string | number }>];
    for (const r of rows) out.set(BigInt(r.shop_user_id), { largestCycle: BigInt(r.largest_cycle), typicalItem: BigInt(r.typical_item) });
  }
  return out;
}

function blank(code: UploadWarningCode): UploadWarning {
  return { code, region: null, currency: null, shopUserId: null, rowNumber: null, amountMinor: null, historyMinor: null, boundMinor: null, count: null, message: '' };
}

const abs = (n: bigint) => (n < 0n ? -n : n);
const group = (n: number) => n.toLocaleString('en-US');
