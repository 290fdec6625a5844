import type { Knex } from '../../runtime/db/knex';
import { ConfigError, NotFoundError } from '../../runtime/errors';
import { regionInfo } from '../../runtime/money/regions';
import type { TraceAccountKey, TraceQuery, TraceSubject } from './trace-types';
import { accountOfPayout, accountsOfSeller, payoutByGatewayReference, payoutById, payoutsOfSeller, type PayoutRow } from './close-reader';
import { itemsByRef, itemsOfOrder, type ItemRow } from './item-reader';
import { big } from './trace-sql';

/**
 * What a query is about, before anything is read for the steps: the accounts (seller, region,
 * cycle, currency) it covers and their payouts. A payout covers its own account; a seller one
 * cycle of its accounts; an order every account its items landed in (the seller's, and an
 * affiliate's commission); a reference is matched as an item's source_ref first, then as a payout,
 * order or seller id, then as a gateway transfer's reference (what a seller's bank statement shows),
 * so a search box can pass whatever was typed.
 */
export interface TraceScope {
  subject: TraceSubject;
  accounts: TraceAccountKey[];
  payouts: PayoutRow[];
  /** An order trace lists only the order's items (read here already); others every account item. */
  orderItems: ItemRow[] | null;
}

export async function resolveScope(db: Knex, q: TraceQuery, itemLimit: number): Promise<TraceScope> {
  switch (q.kind) {
    case 'payout':
      return payoutScope(db, q.id, idOf(q.id, 'payout'), null);
    case 'seller':
      return sellerScope(db, q, idOf(q.id, 'seller'), null);
    case 'order':
      return orderScope(db, q.id, idOf(q.id, 'order'), itemLimit, null);
    case 'ref':
      return refScope(db, q.id, itemLimit);
  }
}

function idOf(text: string, what: string): bigint {
  if (!/^[0-9]{1,19}$/.test(text) || BigInt(text) < 1n || BigInt(text) >= 2n ** 63n)
    throw new ConfigError(`${what} id ${text.slice(0, 40)} is not a positive 64-bit integer`, `for example: sts trace ${what} 652024209997893632`);
  return BigInt(text);
}

function subjectOf(q: Pick<TraceQuery, 'kind' | 'id'>, matchedAs: TraceSubject['matchedAs'], accounts: TraceAccountKey[], payouts: PayoutRow[], orderId: bigint | null, matchedItemId: bigint | null): TraceSubject {
  return { kind: q.kind, id: q.id, matchedAs, accounts, payoutIds: payouts.map((p) => big(p.id)), orderId, matchedItemId };
}

async function payoutScope(db: Knex, text: string, id: bigint, asRef: string | null): Promise<TraceScope> {
  const payout = await payoutById(db, id);
  if (!payout) throw new NotFoundError('payout', text);
  return scopeOfPayout(payout, asRef ? { kind: 'ref', id: asRef } : { kind: 'payout', id: text }, 'payout');
}

function scopeOfPayout(payout: PayoutRow, q: Pick<TraceQuery, 'kind' | 'id'>, matchedAs: TraceSubject['matchedAs']): TraceScope {
  const accounts = [accountOfPayout(payout)];
  return { subject: subjectOf(q, matchedAs, accounts, [payout], null, null), accounts, payouts: [payout], orderItems: null };
}

/** Without --cycle: the latest cycle with a payout, else the latest; without --region: the region of that cycle. */
async function sellerScope(db: Knex, q: Pick<TraceQuery, 'kind' | 'id' | 'region' | 'cycleId'>, seller: bigint, matchedAs: TraceSubject['matchedAs']): Promise<TraceScope> {
  if (q.region !== undefined && !regionInfo(q.region)) throw new ConfigError(`region ${q.region.slice(0, 8)} is not one the marketplace settles`, 'one of SG, MY, TH, VN, ID, PH, TW, BR');
  const rows = await accountsOfSeller(db, seller, q.region, q.cycleId);
  if (rows.length === 0) {
    const where = [q.region && `region ${q.region}`, q.cycleId !== undefined && `cycle ${q.cycleId}`].filter(Boolean).join(', ');
    throw new NotFoundError('seller', where ? `${q.id} (${where})` : q.id);
  }
  const payouts: PayoutRow[] = [];
  for (const region of new Set(rows.map((r) => r.region)))
    payouts.push(...(await payoutsOfSeller(db, region, seller, rows.filter((r) => r.region === region).map((r) => big(r.cycle_id)))));
  const newest = (list: Array<{ region: string; cycle_id: string }>) =>
    list.reduce((a, b) => (big(b.cycle_id) > big(a.cycle_id) || (b.cycle_id === a.cycle_id && b.region < a.region) ? b : a));
  const pick = newest(payouts.length > 0 ? payouts : rows);
  const chosen = rows.filter((r) => r.region === pick.region && r.cycle_id === pick.cycle_id);
  const accounts = chosen.map((r): TraceAccountKey => ({ region: r.region, shopUserId: seller, cycleId: big(r.cycle_id), currency: r.currency }));
  const mine = payouts.filter((p) => p.region === pick.region && p.cycle_id === pick.cycle_id);
  return { subject: subjectOf(q, matchedAs ?? 'seller', accounts, mine, null, null), accounts, payouts: mine, orderItems: null };
}

async function orderScope(db: Knex, text: string, orderId: bigint, itemLimit: number, asRef: { ref: string; itemId: bigint | null } | null): Promise<TraceScope> {
  const items = await itemsOfOrder(db, orderId, itemLimit);
  if (items.length === 0) throw new NotFoundError('order', text);
  const byKey = new Map<string, TraceAccountKey>();
  for (const i of items) {
    const k = `${i.region}/${i.shop_user_id}/${i.cycle_id}/${i.currency}`;
    if (!byKey.has(k)) byKey.set(k, { region: i.region, shopUserId: big(i.shop_user_id), cycleId: big(i.cycle_id), currency: i.currency });
  }
  const accounts = [...byKey.values()];
  const payouts: PayoutRow[] = [];
  for (const a of accounts) payouts.push(...(await payoutsOfSeller(db, a.region, a.shopUserId, [a.cycleId])).filter((p) => p.currency === a.currency));
  const q = asRef ? { kind: 'ref' as const, id: asRef.ref } : { kind: 'order' as const, id: text };
  return { subject: subjectOf(q, asRef?.itemId ? 'item' : 'order', accounts, payouts, orderId, asRef?.itemId ?? null), accounts, payouts, orderItems: items };
}

async function refScope(db: Knex, ref: string, itemLimit: number): Promise<TraceScope> {
  if (ref.length === 0 || ref.length > 128) throw new NotFoundError('reference', ref.slice(0, 128));
  const [item] = await itemsByRef(db, ref);
  if (item) {
    if (item.order_id !== null) return orderScope(db, item.order_id, big(item.order_id), itemLimit, { ref, itemId: big(item.id) });
    const account: TraceAccountKey = { region: item.region, shopUserId: big(item.shop_user_id), cycleId: big(item.cycle_id), currency: item.currency };
    const payouts = (await payoutsOfSeller(db, account.region, account.shopUserId, [account.cycleId])).filter((p) => p.currency === account.currency);
    return { subject: subjectOf({ kind: 'ref', id: ref }, 'item', [account], payouts, null, big(item.id)), accounts: [account], payouts, orderItems: null };
  }
  if (/^[0-9]{1,19}$/.test(ref) && BigInt(ref) >= 1n && BigInt(ref) < 2n ** 63n) {
    const id = BigInt(ref);
    if (await payoutById(db, id)) return payoutScope(db, ref, id, ref);
    const orderItems = await itemsOfOrder(db, id, 0);
    if (orderItems.length > 0) return orderScope(db, ref, id, itemLimit, { ref, itemId: null });
    if ((await accountsOfSeller(db, id)).length > 0) return sellerScope(db, { kind: 'ref', id: ref }, id, 'seller');
  }
  // The column is VARCHAR(64): a longer text cannot be a gateway reference.
  const paid = ref.length <= 64 ? await payoutByGatewayReference(db, ref) : undefined;
  if (paid) return scopeOfPayout(paid, { kind: 'ref', id: ref }, 'gateway-reference');
  throw new NotFoundError('reference', ref);
}
