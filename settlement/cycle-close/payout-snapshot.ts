import type { Knex } from 'knex';
import { escape } from 'mysql2';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import { CycleResolver } from '../../runtime/billing/cycle-resolver';
import { cycleBounds } from '../../runtime/billing/cycle-calendar';
import { outboxTopic, type OutboxMessage, type OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { PAYOUTS, type PayoutEvent } from '../../contracts/payout';
import type { PayoutRail, RailMap } from '../../runtime/payouts/payout-rails';
import { cursorAfter, decidePage, FIRST_PAGE, readAccountPage } from './payout-decisions';

/**
 * Step 2 and 3 of a close: one payout per seller account of the CLOSING cycle, a carry-forward item
 * in the next open cycle for every CARRIED_FORWARD payout, and a payout.created event in the
 * outbox, page by page. Each page is one transaction and skips sellers that already have a payout,
 * so a close that crashed midway continues where it stopped and a second close creates nothing.
 * What each account becomes is decided in payout-decisions.ts, which the preview shares.
 */
// One transaction per page: fewer commits and statements per payout the bigger it is; the close
// holds its region's lease throughout, so only the accounts of the page are locked meanwhile.
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
  /**
   * The close's lease fence (runtime/db/lease.ts), run as the last statement of every transaction
   * here, so a close that lost its region's lease commits no page. Absent only where nothing
   * leases the snapshot (tests that snapshot directly).
   */
  fence?: (trx: Knex.Transaction) => Promise<void>;
}

export interface SnapshotResult {
  created: number;
  byStatus: Record<string, number>;
  /** The rail every payout of the cycle travels. */
  rail: PayoutRail;
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
  let after = FIRST_PAGE;
  const inFlight: Array<Promise<void>> = [];
  // Creates the carry-forward cycle row (and any it walks past) before pages run side by side:
  // two pages creating it at once deadlock on the insert. Each page still reads it under its lock.
  await deps.db.transaction(async (trx) => {
    await new CycleResolver(trx).resolve(region, cutoffAt);
    await deps.fence?.(trx);
  });
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
      const page = await readAccountPage(deps.db, region, cycleId, after, PAGE);
      if (page.length === 0) break;
      const applied = deps.db.transaction(async (trx) => {
        const next = await new CycleResolver(trx).resolve(region, cutoffAt);
        const { decisions } = await decidePage(trx, { region, cycleId, nextCycleId: next.cycleId, cooloffStart }, page);
        const railSql = escape(rail);
        const now = new Date();
        const nowSql = escape(now, false, 'Z');
        const regionSql = escape(region);
        const payouts: string[] = [];
        const carry: BillingItemInput[] = [];
        const events: Array<OutboxMessage<PayoutEvent>> = [];
        for (const { shopUserId: seller, currency, net, status, holdReason, payee } of decisions) {
          // Frozen now: a later change of the seller's account never redirects this payout.
          const payeeId = payee ? payee.id : null;
          const id = deps.ids.next();
          payouts.push(
            `(${id},${cycleId},${regionSql},${seller},${escape(currency)},${net},${escape(status)},${railSql},${escape(holdReason)},${payeeId ?? 'NULL'},${nowSql},${nowSql})`,
          );
          result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
          if (status === 'CARRIED_FORWARD' && net !== 0n) {
            carry.push({
              id: deps.ids.next(),
              region,
              shopUserId: seller,
              currency,
              amountMinor: net,
              itemType: 'CARRY_FORWARD',
              source: 'CARRY_FORWARD',
              sourceRef: `${cycleId}:${seller}:${currency}`,
              cycleId: next.cycleId,
              late: false,
              memo: `carried forward from cycle ${cycleId}`,
            });
          }
          events.push({
            key: seller.toString(),
            eventId: `payout-created:${id}`,
            value: {
              event_id: `payout-created:${id}`,
              payout_id: id,
              cycle_id: cycleId,
              region,
              shop_user_id: seller,
              currency,
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
        await deps.fence?.(trx);
        result.created += payouts.length;
      });
      inFlight.push(applied.then(() => onPage?.(result.created)));
      // Pages cover disjoint sellers and each skips the payouts that already exist, so two can
      // commit in either order and a crash still resumes correctly; two at a time keep both of
      // MariaDB's cores busy while the next page is read.
      if (inFlight.length >= PAGES_IN_FLIGHT) await settleFirst(inFlight);
      after = cursorAfter(page);
    }
    while (inFlight.length > 0) await settleFirst(inFlight);
  }
}

/**
 * A cycle pays on one rail: the rail of the payouts it already has (a close resumed after
 * STS_PAYOUT_RAILS changed keeps the rail it started with), else the configured one.
 */
export async function cycleRail(db: Knex | Knex.Transaction, region: string, cycleId: bigint, configured: PayoutRail): Promise<PayoutRail> {
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
