import type { Knex } from '../../runtime/db/knex';
import type { ChargeRow as StoredChargeRow } from '../../processors/commission/charge-store';
import type { CommissionChargeEntry, CommissionClawbackEntry } from './trace-types';
import { big, bigOrNull, intList, IN_LIST_MAX, slices } from './trace-sql';

/**
 * Step 2's commission: the charge of each order (with the rule version that priced it) and the
 * clawbacks of its refunds, read by order through commission_charge's primary key (region,
 * order_id) and ix_commission_clawback_order. A clawback names no rule of its own: it returns fee
 * charged under the charge's rule version, which is the one reported beside it.
 */

interface ChargeRow extends StoredChargeRow {
  created_at: Date;
}

interface ClawbackRow {
  region: string;
  request_id: string;
  order_id: string;
  refund_amount_minor: string;
  fee_clawback_minor: string;
  affiliate_clawback_minor: string;
  created_at: Date;
}

export async function commissionOf(
  db: Knex,
  region: string,
  orderIds: readonly bigint[],
): Promise<Array<CommissionChargeEntry | CommissionClawbackEntry>> {
  const charges: CommissionChargeEntry[] = [];
  const clawbacks: ClawbackRow[] = [];
  for (const part of slices([...new Set(orderIds)], IN_LIST_MAX)) {
    const ids = intList(part);
    const [c] = (await db.raw(`SELECT * FROM commission_charge WHERE region = ? AND order_id IN (${ids})`, [region])) as [ChargeRow[]];
    for (const r of c) charges.push(chargeEntry(r));
    const [b] = (await db.raw(
      `SELECT region, request_id, order_id, refund_amount_minor, fee_clawback_minor, affiliate_clawback_minor, created_at
         FROM commission_clawback FORCE INDEX (ix_commission_clawback_order) WHERE region = ? AND order_id IN (${ids})`,
      [region],
    )) as [ClawbackRow[]];
    clawbacks.push(...b);
  }
  const chargeOf = new Map(charges.map((c) => [c.orderId, c]));
  return [
    ...charges,
    ...clawbacks.map((r): CommissionClawbackEntry => {
      const charge = chargeOf.get(big(r.order_id));
      return {
        kind: 'COMMISSION_CLAWBACK',
        at: new Date(r.created_at),
        region: r.region,
        orderId: big(r.order_id),
        requestId: r.request_id,
        currency: charge?.currency ?? null,
        ruleVersion: charge?.ruleVersion ?? null,
        refundAmountMinor: big(r.refund_amount_minor),
        feeClawbackMinor: big(r.fee_clawback_minor),
        affiliateClawbackMinor: big(r.affiliate_clawback_minor),
      };
    }),
  ];
}

function chargeEntry(r: ChargeRow): CommissionChargeEntry {
  return {
    kind: 'COMMISSION_CHARGE',
    at: new Date(r.created_at),
    region: r.region,
    orderId: big(r.order_id),
    shopUserId: big(r.shop_user_id),
    affiliateUserId: bigOrNull(r.affiliate_user_id),
    currency: r.currency,
    requestId: r.request_id,
    ruleId: big(r.rule_id),
    ruleVersion: Number(r.rule_version),
    ruleCategory: r.rule_category,
    orderAmountMinor: big(r.order_amount_minor),
    feeMinor: big(r.fee_minor),
    affiliateCreditMinor: big(r.affiliate_credit_minor),
    refundedMinor: big(r.refunded_minor),
    feeClawedBackMinor: big(r.fee_clawed_back_minor),
    affiliateClawedBackMinor: big(r.affiliate_clawed_back_minor),
  };
}
