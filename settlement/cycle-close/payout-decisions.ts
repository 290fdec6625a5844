import type { Knex } from 'knex';
import { INT64_MAX, moneyBounds } from '../../runtime/money/money-bounds';
import { currentPayees, type PayeeAccount } from '../../runtime/payees/payee-registry';
import { decidePayout, type HoldReason, type PayoutStatusAtClose } from './payout-policy';

/**
 * What the close makes of one page of a cycle's seller accounts: which accounts still need a
 * payout, and each one's status and hold reason. The close (payout-snapshot.ts) writes these
 * decisions; the preview (close-preview.ts) only adds them up. Both read the pages and decide here,
 * so a preview cannot disagree with the close that follows it on the same data.
 *
 * Reads only: the caller's transaction (the close's page transaction, or the preview's read-only
 * one) decides what else happens.
 */
export interface AccountRow {
  shop_user_id: string;
  currency: string;
  balance_minor: string;
}

export interface PageScope {
  region: string;
  cycleId: bigint;
  /** The open cycle a carry-forward would go to. */
  nextCycleId: bigint;
  /** Payee accounts created after this instant are inside the cool-off. */
  cooloffStart: Date;
}

export interface AccountDecision {
  shopUserId: bigint;
  currency: string;
  net: bigint;
  status: PayoutStatusAtClose;
  holdReason: HoldReason | null;
  /** The account the payout is frozen to; undefined when it goes nowhere (carried, no account). */
  payee: PayeeAccount | undefined;
}

export interface PageDecisions {
  /** Accounts of the page that already have a payout (a resumed close): skipped. */
  existing: number;
  decisions: AccountDecision[];
}

export interface PageCursor {
  shop: bigint;
  currency: string;
}

export const FIRST_PAGE: PageCursor = { shop: -1n, currency: '' };

/**
 * One page of the cycle's accounts after `after`, in primary-key order with a keyset, so a page is
 * one index range. BIGINT columns get bigint parameters (sent unquoted), so no comparison goes
 * through a string; knex's types take no bigint, mysql2 sends one unquoted, which is the point.
 */
export async function readAccountPage(
  db: Knex | Knex.Transaction,
  region: string,
  cycleId: bigint,
  after: PageCursor,
  limit: number,
): Promise<AccountRow[]> {
  return (
    await db.raw(
      `SELECT shop_user_id, currency, balance_minor FROM settlement_account
      WHERE region = ? AND cycle_id = ? AND (shop_user_id > ? OR (shop_user_id = ? AND currency > ?))
      ORDER BY shop_user_id, currency LIMIT ?`,
      [region, cycleId, after.shop, after.shop, after.currency, limit] as unknown as string[],
    )
  )[0] as AccountRow[];
}

export function cursorAfter(page: AccountRow[]): PageCursor {
  const last = page[page.length - 1]!;
  return { shop: BigInt(last.shop_user_id), currency: last.currency };
}

export async function decidePage(
  trx: Knex | Knex.Transaction,
  scope: PageScope,
  page: AccountRow[],
): Promise<PageDecisions> {
  const { region, cycleId } = scope;
  // The page is one contiguous range of sellers, so "already paid" and "on hold" are two index
  // range reads (uq_payout_seller_cycle, seller_hold's primary key) rather than IN lists of every
  // seller on the page.
  const firstSeller = BigInt(page[0]!.shop_user_id);
  const lastSeller = BigInt(page[page.length - 1]!.shop_user_id);
  const existing = new Set(
    (
      (
        await trx.raw(
          'SELECT shop_user_id, currency FROM payout WHERE region = ? AND cycle_id = ? AND shop_user_id BETWEEN ? AND ?',
          [region, cycleId, firstSeller, lastSeller] as unknown as string[],
        )
      )[0] as Array<{ shop_user_id: string; currency: string }>
    ).map((p) => `${p.shop_user_id}|${p.currency}`),
  );
  const held = new Set(
    (
      (
        await trx.raw(
          'SELECT shop_user_id FROM seller_hold WHERE region = ? AND shop_user_id BETWEEN ? AND ?',
          [region, firstSeller, lastSeller] as unknown as string[],
        )
      )[0] as Array<{
        shop_user_id: string;
      }>
    ).map((h) => h.shop_user_id),
  );
  const unsafe = await carriesPastInt64(trx, region, scope.nextCycleId, page, existing);
  const payees = new Map<string, Map<bigint, PayeeAccount>>();
  for (const currency of new Set(page.map((a) => a.currency)))
    payees.set(currency, await currentPayees(trx as Knex, currency, firstSeller, lastSeller));

  const decisions: AccountDecision[] = [];
  for (const a of page) {
    if (existing.has(`${a.shop_user_id}|${a.currency}`)) continue;
    const net = BigInt(a.balance_minor);
    const shopUserId = BigInt(a.shop_user_id);
    const payee = payees.get(a.currency)!.get(shopUserId);
    // A carry that would take the next cycle's balance past int64 is held instead: the debt stays,
    // exactly, on this payout for an operator, and the close still completes.
    const { status, holdReason } = decidePayout({
      net,
      currency: a.currency,
      sellerHeld: held.has(a.shop_user_id),
      carryUnsafe: unsafe.has(`${a.shop_user_id}|${a.currency}`),
      payee,
      cooloffStart: scope.cooloffStart,
    });
    decisions.push({
      shopUserId,
      currency: a.currency,
      net,
      status,
      holdReason,
      payee: status === 'CARRIED_FORWARD' ? undefined : payee,
    });
  }
  return { existing: page.length - decisions.length, decisions };
}

/**
 * The accounts of a page whose carry-forward could take the next cycle's balance past a signed
 * 64-bit integer. A carry adds one balance to another, so that needs one of them past half of
 * int64, far beyond anything a payout bound lets items produce: only debt carried forward over
 * many cycles gets there. One range read of the next cycle over the page's sellers (early in that
 * cycle, few accounts), and a lookup per page account past half.
 */
async function carriesPastInt64(
  trx: Knex | Knex.Transaction,
  region: string,
  nextCycle: bigint,
  page: AccountRow[],
  existing: Set<string>,
): Promise<Set<string>> {
  const half = INT64_MAX / 2n;
  const key = (shop: string, currency: string) => `${shop}|${currency}`;
  const [far] = (await trx.raw(
    'SELECT shop_user_id, currency, balance_minor FROM settlement_account WHERE region = ? AND cycle_id = ? AND shop_user_id BETWEEN ? AND ? AND (balance_minor > ? OR balance_minor < ?)',
    [
      region,
      nextCycle,
      BigInt(page[0]!.shop_user_id),
      BigInt(page[page.length - 1]!.shop_user_id),
      half,
      -half,
    ] as unknown as string[],
  )) as [AccountRow[]];
  const farNext = new Map(
    far.map((r) => [key(r.shop_user_id, r.currency), BigInt(r.balance_minor)]),
  );
  const unsafe = new Set<string>();
  for (const a of page) {
    const k = key(a.shop_user_id, a.currency);
    const net = BigInt(a.balance_minor);
    // Only a debt is carried forward (a positive remainder is below the minimum payout).
    if (existing.has(k) || net >= 0n || (net >= -half && !farNext.has(k))) continue;
    let later = farNext.get(k);
    if (later === undefined) {
      const row = (await trx('settlement_account')
        .where({
          region,
          shop_user_id: a.shop_user_id,
          currency: a.currency,
          cycle_id: nextCycle.toString(),
        })
        .first('balance_minor')) as { balance_minor: string } | undefined;
      later = row ? BigInt(row.balance_minor) : 0n;
    }
    // The next cycle's balance can still move until it closes, but never further out than the
    // larger of its bound and where it is now.
    const bound = moneyBounds(a.currency).maxPayoutMinor;
    const worst = later > bound || later < -bound ? (later < 0n ? -later : later) : bound;
    if (-net + worst > INT64_MAX) unsafe.add(k);
  }
  return unsafe;
}
