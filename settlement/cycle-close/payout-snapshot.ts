import type { Knex } from 'knex';
import { escape } from 'mysql2';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import { CycleResolver } from '../../runtime/billing/cycle-resolver';
import { cycleBounds } from '../../runtime/billing/cycle-calendar';
import { INT64_MAX, moneyBounds } from '../../runtime/money/money-bounds';
import { outboxTopic, type OutboxMessage, type OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { PAYOUTS, type PayoutEvent } from '../../contracts/payout';
import { currentPayees, type PayeeAccount } from '../../runtime/payees/payee-registry';
import type { PayoutRail, RailMap } from '../../runtime/payouts/payout-rails';
import { decidePayout } from './payout-policy';

/**
 * Step 2 and 3 of a close: one payout per seller account of the CLOSING cycle, a carry-forward item
 * in the next open cycle for every CARRIED_FORWARD payout, and a payout.created event in the
 * outbox, page by page. Each page is one transaction and skips sellers that already have a payout,
 * so a close that crashed midway continues where it stopped and a second close creates nothing.
 * Accounts are read in primary-key order with a keyset, so a page is one index range.
 */
// One transaction per page: fewer commits and statements per payout the bigger it is; the close
// holds its region's named lock throughout, so only the accounts of the page are locked meanwhile.
const PAGE = 20_000;
const PAGES_IN_FLIGHT = 2;

export interface SnapshotDeps {
  db: Knex;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  payoutsTopic?: string;
  /** The rail of each region (STS_PAYOUT_RAILS). */
  rails: RailMap;
  /** Payee accounts that replaced another less than this long ago hold their payout. */
  payeeCooloffMs: number;
  now?: Date;
}

export interface SnapshotResult {
  created: number;
  byStatus: Record<string, number>;
  /** The rail every payout of the cycle travels. */
  rail: PayoutRail;
}

interface AccountRow {
  shop_user_id: string;
  currency: string;
  balance_minor: string;
}

export async function snapshotPayouts(
  deps: SnapshotDeps,
  region: string,
  cycleId: bigint,
  onPage?: (done: number) => void,
): Promise<SnapshotResult> {
  const result: SnapshotResult = { created: 0, byStatus: {}, rail: 'gateway' };
  const payoutsTo = deps.payoutsTopic === undefined ? PAYOUTS : outboxTopic<PayoutEvent>(deps.payoutsTopic);
  const { cutoffAt } = cycleBounds(region, cycleId);
  // BIGINT columns get bigint parameters (sent unquoted), so no comparison goes through a string.
  let after: { shop: bigint; currency: string } = { shop: -1n, currency: '' };
  const inFlight: Array<Promise<void>> = [];
  // Creates the carry-forward cycle row (and any it walks past) before pages run side by side:
  // two pages creating it at once deadlock on the insert. Each page still reads it under its lock.
  await deps.db.transaction((trx) => new CycleResolver(trx).resolve(region, cutoffAt));
  const rail = await cycleRail(deps.db, region, cycleId, deps.rails[region] ?? 'gateway');
  result.rail = rail;
  const cooloffStart = new Date((deps.now ?? new Date()).getTime() - deps.payeeCooloffMs);
  try {
    await snapshotPages();
  } catch (err) {
    await Promise.allSettled(inFlight.splice(0));
    throw err;
  }
  return result;

  async function snapshotPages(): Promise<void> {
    for (;;) {
      // knex's types take no bigint; mysql2 sends one unquoted, which is the point.
      const page = (
        await deps.db.raw(
          `SELECT shop_user_id, currency, balance_minor FROM settlement_account
          WHERE region = ? AND cycle_id = ? AND (shop_user_id > ? OR (shop_user_id = ? AND currency > ?))
          ORDER BY shop_user_id, currency LIMIT ?`,
          [region, cycleId, after.shop, after.shop, after.currency, PAGE] as unknown as string[],
        )
      )[0] as AccountRow[];
      if (page.length === 0) break;
      const applied = deps.db.transaction(async (trx) => {
        // The page is one contiguous range of sellers, so "already paid" and "on hold" are two index
        // range reads (uq_payout_seller_cycle, seller_hold's primary key) rather than IN lists of
        // every seller on the page.
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
            )[0] as Array<{ shop_user_id: string }>
          ).map((h) => h.shop_user_id),
        );
        const next = await new CycleResolver(trx).resolve(region, cutoffAt);
        const unsafe = await carriesPastInt64(trx, region, next.cycleId, page, existing);
        const payees = new Map<string, Map<bigint, PayeeAccount>>();
        for (const currency of new Set(page.map((a) => a.currency))) payees.set(currency, await currentPayees(trx, currency, firstSeller, lastSeller));
        const railSql = escape(rail);
        const now = new Date();
        const nowSql = escape(now, false, 'Z');
        const regionSql = escape(region);
        const payouts: string[] = [];
        const carry: BillingItemInput[] = [];
        const events: Array<OutboxMessage<PayoutEvent>> = [];
        for (const a of page) {
          if (existing.has(`${a.shop_user_id}|${a.currency}`)) continue;
          const net = BigInt(a.balance_minor);
          // A carry that would take the next cycle's balance past int64 is held instead: the debt
          // stays, exactly, on this payout for an operator, and the close still completes.
          const seller = BigInt(a.shop_user_id);
          const payee = payees.get(a.currency)!.get(seller);
          const { status, holdReason } = decidePayout({
            net,
            currency: a.currency,
            sellerHeld: held.has(a.shop_user_id),
            carryUnsafe: unsafe.has(`${a.shop_user_id}|${a.currency}`),
            payee,
            cooloffStart,
          });
          // Frozen now: a later change of the seller's account never redirects this payout.
          const payeeId = status === 'CARRIED_FORWARD' || !payee ? null : payee.id;
          const id = deps.ids.next();
          payouts.push(
            `(${id},${cycleId},${regionSql},${seller},${escape(a.currency)},${net},${escape(status)},${railSql},${escape(holdReason)},${payeeId ?? 'NULL'},${nowSql},${nowSql})`,
          );
          result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
          if (status === 'CARRIED_FORWARD' && net !== 0n) {
            carry.push({
              id: deps.ids.next(),
              region,
              shopUserId: BigInt(a.shop_user_id),
              currency: a.currency,
              amountMinor: net,
              itemType: 'CARRY_FORWARD',
              source: 'CARRY_FORWARD',
              sourceRef: `${cycleId}:${a.shop_user_id}:${a.currency}`,
              cycleId: next.cycleId,
              late: false,
              memo: `carried forward from cycle ${cycleId}`,
            });
          }
          events.push({
            key: a.shop_user_id,
            eventId: `payout-created:${id}`,
            value: {
              event_id: `payout-created:${id}`,
              payout_id: id,
              cycle_id: cycleId,
              region,
              shop_user_id: BigInt(a.shop_user_id),
              currency: a.currency,
              amount_minor: net,
              status,
              rail,
              hold_reason: holdReason,
              created_at: now,
            },
          });
        }
        // Statement text built here (bigint values as integer literals, text through mysql2's own
        // escaping): knex's insert builder cost more CPU per row than MariaDB spent inserting it.
        for (let i = 0; i < payouts.length; i += 1000) {
          await trx.raw(
            `INSERT INTO payout (id, cycle_id, region, shop_user_id, currency, amount_minor, status, rail, hold_reason, payee_account_id, created_at, updated_at) VALUES ${payouts.slice(i, i + 1000).join(',')}`,
          );
        }
        // Mandatory: a carried balance is money already owed and must never be refused by a bound
        // (it may leave the next cycle's balance past the payout bound; see money-bounds.ts).
        await appendBillingItems(trx, carry, { mandatory: true });
        await deps.outbox.add(trx, payoutsTo, events);
        result.created += payouts.length;
      });
      inFlight.push(applied.then(() => onPage?.(result.created)));
      // Pages cover disjoint sellers and each skips the payouts that already exist, so two can
      // commit in either order and a crash still resumes correctly; two at a time keep both of
      // MariaDB's cores busy while the next page is read.
      if (inFlight.length >= PAGES_IN_FLIGHT) await settleFirst(inFlight);
      const last = page[page.length - 1]!;
      after = { shop: BigInt(last.shop_user_id), currency: last.currency };
    }
    while (inFlight.length > 0) await settleFirst(inFlight);
  }
}

/**
 * The accounts of a page whose carry-forward could take the next cycle's balance past a signed
 * 64-bit integer. A carry adds one balance to another, so that needs one of them past half of
 * int64, far beyond anything a payout bound lets items produce: only debt carried forward over
 * many cycles gets there. One range read of the next cycle over the page's sellers (early in that
 * cycle, few accounts), and a lookup per page account past half.
 */
async function carriesPastInt64(trx: Knex.Transaction, region: string, nextCycle: bigint, page: AccountRow[], existing: Set<string>): Promise<Set<string>> {
  const half = INT64_MAX / 2n;
  const key = (shop: string, currency: string) => `${shop}|${currency}`;
  const [far] = (await trx.raw(
    'SELECT shop_user_id, currency, balance_minor FROM settlement_account WHERE region = ? AND cycle_id = ? AND shop_user_id BETWEEN ? AND ? AND (balance_minor > ? OR balance_minor < ?)',
    [region, nextCycle, BigInt(page[0]!.shop_user_id), BigInt(page[page.length - 1]!.shop_user_id), half, -half] as unknown as string[],
  )) as [AccountRow[]];
  const farNext = new Map(far.map((r) => [key(r.shop_user_id, r.currency), BigInt(r.balance_minor)]));
  const unsafe = new Set<string>();
  for (const a of page) {
    const k = key(a.shop_user_id, a.currency);
    const net = BigInt(a.balance_minor);
    // Only a debt is carried forward (a positive remainder is below the minimum payout).
    if (existing.has(k) || net >= 0n || (net >= -half && !farNext.has(k))) continue;
    let later = farNext.get(k);
    if (later === undefined) {
      const row = (await trx('settlement_account').where({ region, shop_user_id: a.shop_user_id, currency: a.currency, cycle_id: nextCycle.toString() }).first('balance_minor')) as { balance_minor: string } | undefined;
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

/**
 * A cycle pays on one rail: the rail of the payouts it already has (a close resumed after
 * STS_PAYOUT_RAILS changed keeps the rail it started with), else the configured one.
 */
async function cycleRail(db: Knex, region: string, cycleId: bigint, configured: PayoutRail): Promise<PayoutRail> {
  const row = (await db('payout').where({ region, cycle_id: cycleId.toString() }).first('rail')) as { rail: PayoutRail } | undefined;
  return row?.rail ?? configured;
}

/** Awaits the oldest page; on failure waits for the others too, so none runs on unobserved. */
async function settleFirst(inFlight: Array<Promise<void>>): Promise<void> {
  try {
    await inFlight.shift();
  } catch (err) {
    await Promise.allSettled(inFlight.splice(0));
    throw err;
  }
}
