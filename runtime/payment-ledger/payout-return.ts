import type { Knex } from '../db/knex';
import type { SnowflakeGenerator } from '../ids/snowflake';
import { appendBillingItems } from '../billing/billing-ledger';
import { CycleResolver } from '../billing/cycle-resolver';
import { postMovements } from './ledger-postings';

/**
 * A payout that will never be paid (refused by the gateway or the bank, or cancelled by an
 * operator) gives its amount back to the seller: a PAYOUT_RETURN billing item in the region's open
 * cycle, so the next close pays it again with whatever else the seller earned. Exactly once per
 * payout: the item's key is (region, PAYOUT_RETURN, payout id), so a second return of the same
 * payout finds it and writes nothing.
 *
 * A payout that was tried in the payment ledger (its money reserved, then CANCELled back to
 * SELLER_SETTLEMENT) also posts RETURN (SELLER_SETTLEMENT -> SYSTEM): the money now sits in the
 * billing balance, and the payout that pays it later accrues it afresh. One never tried (cancelled
 * while on hold) had nothing in the ledger to take back.
 *
 * Runs inside the caller's transaction, the one that makes the payout FAILED or CANCELLED.
 */
export interface ReturnedPayout {
  payoutId: bigint;
  region: string;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  cycleId: bigint;
  /** Whether the payment ledger holds a CANCEL for it. */
  cancelledInLedger: boolean;
  /** Why, for the item's memo: a failure code, or "cancelled by ..." */
  why: string;
}

export async function returnPayouts(trx: Knex.Transaction, ids: SnowflakeGenerator, payouts: ReturnedPayout[], now = new Date()): Promise<{ returned: bigint[] }> {
  if (payouts.length === 0) return { returned: [] };
  const resolver = new CycleResolver(trx);
  const items = [];
  for (const p of payouts) {
    const open = await resolver.resolve(p.region, now);
    items.push({
      id: ids.next(),
      region: p.region,
      shopUserId: p.shopUserId,
      currency: p.currency,
      amountMinor: p.amountMinor,
      itemType: 'PAYOUT_RETURN',
      source: 'PAYOUT_RETURN',
      sourceRef: p.payoutId.toString(),
      cycleId: open.cycleId,
      late: false,
      memo: `payout ${p.payoutId} of cycle ${p.cycleId} not paid: ${p.why}`.slice(0, 255),
    });
  }
  // Mandatory: money already owed must never be refused by a bound.
  const result = await appendBillingItems(trx, items, { mandatory: true });
  const fresh = new Set(result.inserted.map((i) => i.sourceRef));
  const byId = new Map(payouts.map((p) => [p.payoutId.toString(), p]));
  await postMovements(
    trx,
    [...fresh].flatMap((ref) => {
      const p = byId.get(ref)!;
      return p.cancelledInLedger ? [{ txId: p.payoutId, phase: 'RETURN' as const, currency: p.currency, amountMinor: p.amountMinor }] : [];
    }),
  );
  return { returned: [...fresh].map((r) => BigInt(r)) };
}
