import type { Knex } from '../../runtime/db/knex';
import { REGIONS } from '../../runtime/money/regions';
import type { AccountEntry, CarryForwardEntry, PayoutEntry, SellerHoldEntry, TraceAccountKey } from './trace-types';
import { itemByKey } from './item-reader';
import { big, bigOrNull, dateOrNull, int64Literal, intList, IN_LIST_MAX, marks, slices } from './trace-sql';

/**
 * Step 3, what the close made of an account: its balance (settlement_account's primary key), its
 * payout (uq_payout_seller_cycle, or the payout's primary key), the balance it carried into the
 * next cycle (the carry item's business key, as the close writes it: `<cycle>:<seller>:<currency>`)
 * and whether the seller is on hold (seller_hold's primary key).
 */

export interface PayoutRow {
  id: string;
  cycle_id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
  rail: string;
  hold_reason: string | null;
  payee_account_id: string | null;
  hold_decided_by: string | null;
  hold_decided_at: Date | null;
  attempts: number;
  gateway_reference: string | null;
  failure_code: string | null;
  bank_msg_id: string | null;
  created_at: Date;
  updated_at: Date;
  decided_at: Date | null;
}

const PAYOUT_COLUMNS =
  'id, cycle_id, region, shop_user_id, currency, amount_minor, status, rail, hold_reason, payee_account_id, hold_decided_by, hold_decided_at, attempts, gateway_reference, failure_code, bank_msg_id, created_at, updated_at, decided_at';

export async function payoutById(db: Knex, id: bigint): Promise<PayoutRow | undefined> {
  const [rows] = (await db.raw(`SELECT ${PAYOUT_COLUMNS} FROM payout WHERE id = ${int64Literal(id)}`)) as [PayoutRow[]];
  return rows[0];
}

/** The payout a gateway transfer paid, by ix_payout_gateway_reference; the oldest if the gateway repeated a reference. */
export async function payoutByGatewayReference(db: Knex, reference: string): Promise<PayoutRow | undefined> {
  const [rows] = (await db.raw(
    `SELECT ${PAYOUT_COLUMNS} FROM payout FORCE INDEX (ix_payout_gateway_reference) WHERE gateway_reference = ? ORDER BY id LIMIT 1`,
    [reference],
  )) as [PayoutRow[]];
  return rows[0];
}

/** The payouts of a seller in some cycles of a region, by uq_payout_seller_cycle. */
export async function payoutsOfSeller(db: Knex, region: string, shopUserId: bigint, cycleIds: readonly bigint[]): Promise<PayoutRow[]> {
  const out: PayoutRow[] = [];
  for (const part of slices([...new Set(cycleIds)], IN_LIST_MAX)) {
    const [rows] = (await db.raw(
      `SELECT ${PAYOUT_COLUMNS} FROM payout FORCE INDEX (uq_payout_seller_cycle)
        WHERE region = ? AND cycle_id IN (${intList(part)}) AND shop_user_id = ${int64Literal(shopUserId)}`,
      [region],
    )) as [PayoutRow[]];
    out.push(...rows);
  }
  return out;
}

export const accountOfPayout = (p: PayoutRow): TraceAccountKey => ({ region: p.region, shopUserId: big(p.shop_user_id), cycleId: big(p.cycle_id), currency: p.currency });

interface AccountRow {
  region: string;
  shop_user_id: string;
  currency: string;
  cycle_id: string;
  balance_minor: string;
  item_count: string;
  updated_at: Date;
}

/** A seller's accounts, in one region or all, in one cycle or all: settlement_account's primary key. */
export async function accountsOfSeller(db: Knex, shopUserId: bigint, region?: string, cycleId?: bigint): Promise<AccountRow[]> {
  const regions = region === undefined ? Object.keys(REGIONS) : [region];
  const [rows] = (await db.raw(
    `SELECT region, shop_user_id, currency, cycle_id, balance_minor, item_count, updated_at FROM settlement_account
      WHERE region IN (${marks(regions.length)}) AND shop_user_id = ${int64Literal(shopUserId)}${cycleId === undefined ? '' : ` AND cycle_id = ${int64Literal(cycleId)}`}`,
    regions,
  )) as [AccountRow[]];
  return rows;
}

export async function accountEntry(db: Knex, a: TraceAccountKey): Promise<AccountEntry | undefined> {
  const [rows] = (await db.raw(
    `SELECT region, shop_user_id, currency, cycle_id, balance_minor, item_count, updated_at FROM settlement_account
      WHERE region = ? AND shop_user_id = ${int64Literal(a.shopUserId)} AND currency = ? AND cycle_id = ${int64Literal(a.cycleId)}`,
    [a.region, a.currency],
  )) as [AccountRow[]];
  const r = rows[0];
  if (!r) return undefined;
  return {
    kind: 'ACCOUNT',
    at: new Date(r.updated_at),
    region: r.region,
    shopUserId: big(r.shop_user_id),
    cycleId: big(r.cycle_id),
    currency: r.currency,
    balanceMinor: big(r.balance_minor),
    itemCount: big(r.item_count),
  };
}

export function payoutEntry(p: PayoutRow): PayoutEntry {
  return {
    kind: 'PAYOUT',
    at: new Date(p.created_at),
    payoutId: big(p.id),
    region: p.region,
    cycleId: big(p.cycle_id),
    shopUserId: big(p.shop_user_id),
    currency: p.currency,
    amountMinor: big(p.amount_minor),
    status: p.status,
    rail: p.rail,
    holdReason: p.hold_reason,
    payeeAccountId: bigOrNull(p.payee_account_id),
    holdDecidedBy: p.hold_decided_by,
    holdDecidedAt: dateOrNull(p.hold_decided_at),
  };
}

/** The balance the close carried out of this account into the next cycle, if it did. */
export async function carryOut(db: Knex, a: TraceAccountKey): Promise<CarryForwardEntry | undefined> {
  const item = await itemByKey(db, a.region, 'CARRY_FORWARD', `${a.cycleId}:${a.shopUserId}:${a.currency}`);
  if (!item) return undefined;
  return {
    kind: 'CARRY_FORWARD',
    at: new Date(item.created_at),
    itemId: big(item.id),
    region: item.region,
    shopUserId: big(item.shop_user_id),
    currency: item.currency,
    fromCycleId: a.cycleId,
    toCycleId: big(item.cycle_id),
    amountMinor: big(item.amount_minor),
  };
}

export async function sellerHold(db: Knex, region: string, shopUserId: bigint): Promise<SellerHoldEntry | undefined> {
  const [rows] = (await db.raw(`SELECT region, shop_user_id, reason, created_at FROM seller_hold WHERE region = ? AND shop_user_id = ${int64Literal(shopUserId)}`, [region])) as [
    Array<{ region: string; shop_user_id: string; reason: string; created_at: Date }>,
  ];
  const h = rows[0];
  return h && { kind: 'SELLER_HOLD', at: new Date(h.created_at), region: h.region, shopUserId: big(h.shop_user_id), reason: h.reason };
}
