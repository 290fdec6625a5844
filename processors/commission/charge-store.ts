import type { Knex } from '../../runtime/db/knex';
import type { ChargeState } from './commission-calc';
import { insertOnce } from './insert-once';
import { chunked, whereRegionKeys, type RegionKey } from './region-keys';

/**
 * commission_charge: one row per charged order, written in the batch's transaction with the
 * billing items it explains, so a row exists exactly when its items do. Every function here takes
 * a whole batch of keys or rows and costs one statement per KEYS_PER_STATEMENT of them.
 *
 * Locking, deliberately narrow:
 * - Existence checks are plain reads. A locking read of a MISSING key takes a gap lock, and two
 *   partitions inserting new orders next to each other (order ids grow, so new rows all land in
 *   the last gap) would then deadlock on each other's gap. The primary keys stop a duplicate
 *   instead: a concurrent writer's row makes our insert fail with a retriable error, and the
 *   rerun sees that row.
 * - A batch that claws back locks only the EXISTING charge rows it will move (record locks, no
 *   gap), in primary-key order: two consumers of the same order (a zombie after a rebalance)
 *   serialize there, and the second reads the first's running totals instead of clawing back
 *   again from a stale "clawed back so far". The same order keeps two batches that lock
 *   overlapping rows from deadlocking on each other.
 */

export interface ChargeRecord extends ChargeState {
  region: string;
  orderId: bigint;
  shopUserId: bigint;
  affiliateUserId: bigint | null;
  currency: string;
  requestId: string;
  ruleId: bigint;
  ruleVersion: number;
  ruleCategory: string;
}

export type ChargeKey = RegionKey<bigint>;

/** The in-memory key of a charge, as unique as the primary key (region, order_id). */
export const chargeKey = (region: string, orderId: bigint): string => `${region}\u0000${orderId}`;

/** A commission_charge row as mysql2 returns it (BIGINT and DECIMAL as strings). */
export interface ChargeRow {
  region: string;
  order_id: string;
  shop_user_id: string;
  affiliate_user_id: string | null;
  currency: string;
  request_id: string;
  rule_id: string;
  rule_version: number;
  rule_category: string;
  order_amount_minor: string;
  fee_minor: string;
  affiliate_credit_minor: string;
  refunded_minor: string;
  fee_clawed_back_minor: string;
  affiliate_clawed_back_minor: string;
}

/** The batch lookup, by primary key and in its order; `lock` makes it SELECT ... FOR UPDATE. */
export function chargesQuery(
  db: Knex | Knex.Transaction,
  keys: readonly ChargeKey[],
  opts: { lock: boolean },
) {
  const q = whereRegionKeys(db('commission_charge').select('*'), 'order_id', keys).orderBy([
    { column: 'region' },
    { column: 'order_id' },
  ]);
  return opts.lock ? q.forUpdate() : q;
}

/**
 * The charges of `keys` that exist, by chargeKey. Call with `lock` only for keys a plain read has
 * just found: they exist, so the lock is a record lock and never a gap lock.
 */
export async function readCharges(
  trx: Knex.Transaction,
  keys: readonly ChargeKey[],
  opts: { lock: boolean },
): Promise<Map<string, ChargeRecord>> {
  const found = new Map<string, ChargeRecord>();
  for (const slice of chunked(inKeyOrder(keys, (k) => k.value))) {
    const rows = (await chargesQuery(trx, slice, opts)) as ChargeRow[];
    for (const row of rows) {
      const c = fromRow(row);
      found.set(chargeKey(c.region, c.orderId), c);
    }
  }
  return found;
}

/** New charges, one multi-row INSERT; a concurrent writer's row makes it retriable. */
export async function insertCharges(
  trx: Knex.Transaction,
  charges: readonly ChargeRecord[],
): Promise<void> {
  for (const slice of chunked(inKeyOrder(charges, (c) => c.orderId)))
    await insertOnce(() => trx('commission_charge').insert(slice.map(toRow)));
}

/**
 * Sets the running totals of existing charges to the values given, in one statement per slice.
 * Absolute values, not increments: the caller read these rows under their row locks, so nothing
 * else can have moved them since. The rows exist and are locked, so the INSERT half of
 * `INSERT ... ON DUPLICATE KEY UPDATE` never inserts; only the three totals and updated_at change.
 */
export async function saveChargeTotals(
  trx: Knex.Transaction,
  charges: readonly ChargeRecord[],
): Promise<void> {
  for (const slice of chunked(inKeyOrder(charges, (c) => c.orderId))) {
    const rows = slice.map((c) => ({
      ...toRow(c),
      updated_at: trx.raw('CURRENT_TIMESTAMP(3)'),
    }));
    await trx('commission_charge')
      .insert(rows)
      .onConflict(['region', 'order_id'])
      .merge([
        'refunded_minor',
        'fee_clawed_back_minor',
        'affiliate_clawed_back_minor',
        'updated_at',
      ]);
  }
}

/** Primary-key order (region, then order id), each key once. */
function inKeyOrder<K extends { region: string }>(items: readonly K[], id: (k: K) => bigint): K[] {
  const distinct = new Map(items.map((k) => [chargeKey(k.region, id(k)), k]));
  return [...distinct.values()].sort((a, b) => {
    if (a.region !== b.region) return a.region < b.region ? -1 : 1;
    const x = id(a);
    const y = id(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function toRow(c: ChargeRecord) {
  return {
    region: c.region,
    order_id: c.orderId,
    shop_user_id: c.shopUserId,
    affiliate_user_id: c.affiliateUserId,
    currency: c.currency,
    request_id: c.requestId,
    rule_id: c.ruleId,
    rule_version: c.ruleVersion,
    rule_category: c.ruleCategory,
    order_amount_minor: c.orderAmountMinor,
    fee_minor: c.feeMinor,
    affiliate_credit_minor: c.affiliateCreditMinor,
    refunded_minor: c.refundedMinor,
    fee_clawed_back_minor: c.feeClawedBackMinor,
    affiliate_clawed_back_minor: c.affiliateClawedBackMinor,
  };
}

function fromRow(r: ChargeRow): ChargeRecord {
  return {
    region: r.region,
    orderId: BigInt(r.order_id),
    shopUserId: BigInt(r.shop_user_id),
    affiliateUserId: r.affiliate_user_id === null ? null : BigInt(r.affiliate_user_id),
    currency: r.currency,
    requestId: r.request_id,
    ruleId: BigInt(r.rule_id),
    ruleVersion: Number(r.rule_version),
    ruleCategory: r.rule_category,
    orderAmountMinor: BigInt(r.order_amount_minor),
    feeMinor: BigInt(r.fee_minor),
    affiliateCreditMinor: BigInt(r.affiliate_credit_minor),
    refundedMinor: BigInt(r.refunded_minor),
    feeClawedBackMinor: BigInt(r.fee_clawed_back_minor),
    affiliateClawedBackMinor: BigInt(r.affiliate_clawed_back_minor),
  };
}
