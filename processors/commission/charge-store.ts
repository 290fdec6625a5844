import type { Knex } from '../../runtime/db/knex';
import { StsError } from '../../runtime/errors';
import type { ChargeState } from './commission-calc';

/**
 * commission_charge (one row per charged order) and commission_clawback (one row per refund
 * request). Both are written in the batch's transaction with the billing items they explain, so
 * a row exists exactly when its items do.
 *
 * Locking, deliberately narrow:
 * - Existence checks are plain reads. A locking read of a MISSING key takes a gap lock, and two
 *   partitions inserting new orders next to each other (order ids grow, so new rows all land in
 *   the last gap) would then deadlock on each other's gap. The primary keys stop a duplicate
 *   instead: a concurrent writer's row makes our insert fail with a retriable error, and the
 *   rerun sees that row.
 * - A clawback locks its EXISTING charge row (a record lock, no gap): two consumers of the same
 *   order (a zombie after a rebalance) serialize there, and the second reads the first's running
 *   totals instead of clawing back again from a stale "clawed back so far".
 *
 * Ids are bound as bigint, never as strings: a string compared with a BIGINT column is compared
 * as a double, which rounds 18-digit ids and keeps the primary key from being used (lesson 9).
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

interface ChargeRow {
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

/** The hot lookup of every request: one primary-key row, locked for a clawback's update. */
export function chargeQuery(
  db: Knex | Knex.Transaction,
  region: string,
  orderId: bigint,
  lock = false,
) {
  const q = db('commission_charge').where({ region, order_id: orderId }).first();
  return lock ? q.forUpdate() : q;
}

export async function findCharge(
  trx: Knex.Transaction,
  region: string,
  orderId: bigint,
  opts: { lock: boolean },
): Promise<ChargeRecord | undefined> {
  const row = (await chargeQuery(trx, region, orderId, opts.lock)) as ChargeRow | undefined;
  return row && fromRow(row);
}

export async function insertCharge(trx: Knex.Transaction, c: ChargeRecord): Promise<void> {
  await insertOnce(() =>
    trx('commission_charge').insert({
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
    }),
  );
}

export interface ClawbackRecord {
  region: string;
  requestId: string;
  orderId: bigint;
  refundAmountMinor: bigint;
  feeClawbackMinor: bigint;
  affiliateClawbackMinor: bigint;
}

export async function findClawback(
  trx: Knex.Transaction,
  region: string,
  requestId: string,
): Promise<ClawbackRecord | undefined> {
  const row = (await trx('commission_clawback')
    .where({ region, request_id: requestId })
    .first()) as
    | {
        order_id: string;
        refund_amount_minor: string;
        fee_clawback_minor: string;
        affiliate_clawback_minor: string;
      }
    | undefined;
  if (!row) return undefined;
  return {
    region,
    requestId,
    orderId: BigInt(row.order_id),
    refundAmountMinor: BigInt(row.refund_amount_minor),
    feeClawbackMinor: BigInt(row.fee_clawback_minor),
    affiliateClawbackMinor: BigInt(row.affiliate_clawback_minor),
  };
}

/**
 * Records the clawback and sets the charge's running totals to `after`, in the caller's
 * transaction. Absolute values, not increments: the caller read the charge under its row lock,
 * so nothing else can have moved them since.
 */
export async function recordClawback(
  trx: Knex.Transaction,
  cb: ClawbackRecord,
  after: Pick<ChargeState, 'refundedMinor' | 'feeClawedBackMinor' | 'affiliateClawedBackMinor'>,
): Promise<void> {
  await insertOnce(() =>
    trx('commission_clawback').insert({
      region: cb.region,
      request_id: cb.requestId,
      order_id: cb.orderId,
      refund_amount_minor: cb.refundAmountMinor,
      fee_clawback_minor: cb.feeClawbackMinor,
      affiliate_clawback_minor: cb.affiliateClawbackMinor,
    }),
  );
  await trx('commission_charge')
    .where({ region: cb.region, order_id: cb.orderId })
    .update({
      refunded_minor: after.refundedMinor,
      fee_clawed_back_minor: after.feeClawedBackMinor,
      affiliate_clawed_back_minor: after.affiliateClawedBackMinor,
      updated_at: trx.fn.now(3),
    });
}

/** A duplicate key here means another consumer committed the same request first: retry the batch
 * (as the billing ledger does), and the rerun will find that row and change nothing. */
async function insertOnce(insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert();
  } catch (err) {
    if ((err as { errno?: number }).errno === 1062) {
      throw new StsError(
        'STS_CONCURRENT_WRITE',
        'a commission row was inserted concurrently; retrying the batch',
        { retriable: true, cause: err },
      );
    }
    throw err;
  }
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
