import type { Knex } from 'knex';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems, type BillingItemInput } from '../../runtime/ledger/billing-ledger';
import { CycleResolver } from '../../runtime/ledger/cycle-resolver';
import { cycleBounds } from '../../runtime/ledger/cycle-bounds';
import type { OutboxMessage, OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { payoutStatusFor } from './payout-policy';

/**
 * Step 2 and 3 of a close: one payout per seller account of the CLOSING cycle, a carry-forward item
 * in the next open cycle for every CARRIED_FORWARD payout, and a payout.created event in the
 * outbox, page by page. Each page is one transaction and skips sellers that already have a payout,
 * so a close that crashed midway continues where it stopped and a second close creates nothing.
 * Accounts are read in primary-key order with a keyset, so a page is one index range.
 */
export const PAYOUTS_TOPIC = 'sts.payouts.v1';
const PAGE = 5000;

export interface SnapshotDeps {
  db: Knex;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  payoutsTopic?: string;
}

export interface SnapshotResult {
  created: number;
  byStatus: Record<string, number>;
}

interface AccountRow {
  shop_user_id: string;
  currency: string;
  balance_minor: string;
}

export async function snapshotPayouts(deps: SnapshotDeps, region: string, cycleId: bigint, onPage?: (done: number) => void): Promise<SnapshotResult> {
  const result: SnapshotResult = { created: 0, byStatus: {} };
  const { cutoffAt } = cycleBounds(region, cycleId);
  // BIGINT columns get bigint parameters (sent unquoted), so no comparison goes through a string.
  let after: { shop: bigint; currency: string } = { shop: -1n, currency: '' };
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
    if (page.length === 0) return result;
    await deps.db.transaction(async (trx) => {
      const sellers = page.map((a) => a.shop_user_id);
      const existing = new Set(
        ((await trx('payout').select('shop_user_id', 'currency').where({ region, cycle_id: cycleId.toString() }).whereIn('shop_user_id', sellers)) as Array<{ shop_user_id: string; currency: string }>).map(
          (p) => `${p.shop_user_id}|${p.currency}`,
        ),
      );
      const held = new Set(((await trx('seller_hold').select('shop_user_id').where({ region }).whereIn('shop_user_id', sellers)) as Array<{ shop_user_id: string }>).map((h) => h.shop_user_id));
      const next = await new CycleResolver(trx).resolve(region, cutoffAt);
      const now = new Date();
      const payouts = [];
      const carry: BillingItemInput[] = [];
      const events: OutboxMessage[] = [];
      for (const a of page) {
        if (existing.has(`${a.shop_user_id}|${a.currency}`)) continue;
        const net = BigInt(a.balance_minor);
        const status = payoutStatusFor(net, a.currency, held.has(a.shop_user_id));
        const id = deps.ids.next();
        payouts.push({ id: id.toString(), cycle_id: cycleId.toString(), region, shop_user_id: a.shop_user_id, currency: a.currency, amount_minor: net.toString(), status, created_at: now, updated_at: now });
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
          topic: deps.payoutsTopic ?? PAYOUTS_TOPIC,
          key: a.shop_user_id,
          eventId: `payout-created:${id}`,
          value: { event_id: `payout-created:${id}`, payout_id: id, cycle_id: cycleId, region, shop_user_id: BigInt(a.shop_user_id), currency: a.currency, amount_minor: net, status, created_at: now },
        });
      }
      for (let i = 0; i < payouts.length; i += 1000) await trx('payout').insert(payouts.slice(i, i + 1000));
      await appendBillingItems(trx, carry);
      await deps.outbox.add(trx, events);
      result.created += payouts.length;
    });
    const last = page[page.length - 1]!;
    after = { shop: BigInt(last.shop_user_id), currency: last.currency };
    onPage?.(result.created);
  }
}
