import type { Knex } from '../../runtime/db/knex';
import {
  chargeKey,
  insertCharges,
  readCharges,
  saveChargeTotals,
  type ChargeKey,
  type ChargeRecord,
} from './charge-store';
import {
  clawbackKey,
  insertClawbacks,
  readClawbacks,
  type ClawbackKey,
  type ClawbackRecord,
} from './clawback-store';
import type { ChargeState } from './commission-calc';
import type { CommissionRule } from './commission-rule';
import type { CommissionRequest } from '../../contracts/commission-request';
import { RuleBook } from './rule-book';

export type ChargeTotals = Pick<
  ChargeState,
  'refundedMinor' | 'feeClawedBackMinor' | 'affiliateClawedBackMinor'
>;

/**
 * One batch's working copy of the commission tables: what its requests need, read up front in a
 * fixed number of queries, then changed in memory as the requests are applied in offset order
 * (so a CHARGE and a refund of the same order in one batch see each other), and written back in
 * bulk by save(), in the batch's transaction.
 *
 * Reads, in this order:
 *   1. the charges of every order the batch names, the recorded clawbacks of its refunds, and the
 *      rules its new orders can pay, as plain reads (no lock on a key that may be missing);
 *   2. the existing charges its refunds will move, again, under their row locks (charge-store.ts
 *      says why): the running totals a clawback starts from are the latest committed ones, not
 *      the snapshot's, so a concurrent refund of the same order is never overwritten.
 * The rest of a charge (seller, currency, affiliate, amounts) never changes once written, so the
 * plain read is as good as the locked one for every check that uses only those.
 */
export class CommissionState {
  private readonly freshCharges: ChargeRecord[] = [];
  private readonly freshClawbacks: ClawbackRecord[] = [];
  /** Keys of charges that existed before the batch and whose totals it moved. */
  private readonly moved = new Set<string>();

  private constructor(
    private readonly charges: Map<string, ChargeRecord>,
    private readonly clawbacks: Map<string, ClawbackRecord>,
    private readonly rules: RuleBook,
    /** Keys of the charges that existed before the batch. */
    private readonly stored: ReadonlySet<string>,
  ) {}

  static async load(
    trx: Knex.Transaction,
    requests: readonly CommissionRequest[],
  ): Promise<CommissionState> {
    const orders: ChargeKey[] = requests.map((r) => ({ region: r.region, value: r.order_id }));
    const refunds = requests.filter((r) => r.kind === 'CLAWBACK');
    const refundKeys: ClawbackKey[] = refunds.map((r) => ({
      region: r.region,
      value: r.request_id,
    }));

    const charges = orders.length > 0 ? await readCharges(trx, orders, { lock: false }) : new Map();
    const clawbacks = refundKeys.length > 0 ? await readClawbacks(trx, refundKeys) : new Map();
    // Only orders not charged yet need a rule: a redelivered CHARGE is judged by its charge row.
    const unpriced = requests.filter(
      (r) => r.kind === 'CHARGE' && !charges.has(chargeKey(r.region, r.order_id)),
    );
    const rules = await RuleBook.load(trx, unpriced);
    const stored = new Set(charges.keys());

    // Lock only what a refund will move: a recorded one (a redelivery) moves nothing, and one
    // without a charge fails when applied.
    const toLock = refunds
      .filter(
        (r) =>
          charges.has(chargeKey(r.region, r.order_id)) &&
          !clawbacks.has(clawbackKey(r.region, r.request_id)),
      )
      .map((r): ChargeKey => ({ region: r.region, value: r.order_id }));
    if (toLock.length > 0) {
      const locked = await readCharges(trx, toLock, { lock: true });
      for (const { region, value } of toLock) {
        const k = chargeKey(region, value);
        const latest = locked.get(k);
        if (latest) charges.set(k, latest);
        // Charges are never deleted; if one were, its refund would rightly find no charge.
        else charges.delete(k);
      }
    }
    return new CommissionState(charges, clawbacks, rules, stored);
  }

  /** The order's charge as this batch sees it, running totals included. */
  charge(region: string, orderId: bigint): Readonly<ChargeRecord> | undefined {
    return this.charges.get(chargeKey(region, orderId));
  }

  /** The refund request's recorded clawback, from before the batch or earlier in it. */
  clawback(region: string, requestId: string): Readonly<ClawbackRecord> | undefined {
    return this.clawbacks.get(clawbackKey(region, requestId));
  }

  rule(region: string, category: string, at: Date): CommissionRule | undefined {
    return this.rules.effective(region, category, at);
  }

  /** A new charge; the caller has checked the order has none. */
  addCharge(charge: ChargeRecord): void {
    const record = { ...charge };
    this.charges.set(chargeKey(record.region, record.orderId), record);
    this.freshCharges.push(record);
  }

  /** A new clawback, and the running totals of its order's charge after it. */
  addClawback(clawback: ClawbackRecord, after: ChargeTotals): void {
    const k = chargeKey(clawback.region, clawback.orderId);
    const charge = this.charges.get(k);
    if (!charge) throw new Error(`no charge for ${k}: check the order before clawing back`);
    Object.assign(charge, {
      refundedMinor: after.refundedMinor,
      feeClawedBackMinor: after.feeClawedBackMinor,
      affiliateClawedBackMinor: after.affiliateClawedBackMinor,
    });
    // A charge new in this batch is inserted with its final totals; only stored ones update.
    if (this.stored.has(k)) this.moved.add(k);
    const record = { ...clawback };
    this.clawbacks.set(clawbackKey(record.region, record.requestId), record);
    this.freshClawbacks.push(record);
  }

  /** Writes what the batch changed: one multi-row statement per table and kind of change. */
  async save(trx: Knex.Transaction): Promise<void> {
    if (this.freshCharges.length > 0) await insertCharges(trx, this.freshCharges);
    if (this.freshClawbacks.length > 0) await insertClawbacks(trx, this.freshClawbacks);
    if (this.moved.size > 0)
      await saveChargeTotals(
        trx,
        [...this.moved].map((k) => this.charges.get(k)!),
      );
  }
}
