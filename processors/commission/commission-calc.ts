import { ValidationError } from '../../runtime/errors';
import { INT64_MAX } from '../../runtime/money/money-bounds';
import { BPS_SCALE, type CommissionRule } from './commission-rule';

/**
 * Commission arithmetic: integer minor units in bigint only, no float anywhere
 * (docs/DESIGN.md, "Guarantees"). Every division rounds half up, i.e. to the nearest minor unit
 * with exact halves going up; all operands are non-negative here, so "half up" and "half away from
 * zero" agree.
 */

/** round(a * b / c), halves up, for a, b >= 0 and c > 0. Exact for any size: no intermediate float. */
export function mulDivHalfUp(a: bigint, b: bigint, c: bigint): bigint {
  if (a < 0n || b < 0n || c <= 0n)
    throw new RangeError(`mulDivHalfUp needs a, b >= 0 and c > 0 (got ${a}, ${b}, ${c})`);
  // (2ab + c) / 2c == floor(ab/c + 1/2), also for an odd divisor.
  return (2n * a * b + c) / (2n * c);
}

/** The seller's fee: amount * rate_bps / 10000, rounded half up, then clamped to [min, max]. */
export function computeFee(
  amountMinor: bigint,
  rule: Pick<CommissionRule, 'rateBps' | 'minMinor' | 'maxMinor'>,
): bigint {
  if (amountMinor < 0n)
    throw new ValidationError(`commission needs a non-negative amount (got ${amountMinor})`);
  const raw = mulDivHalfUp(amountMinor, BigInt(rule.rateBps), BPS_SCALE);
  const floored = raw < rule.minMinor ? rule.minMinor : raw;
  return rule.maxMinor !== null && floored > rule.maxMinor ? rule.maxMinor : floored;
}

/** What the affiliate is credited: its share (basis points) of the fee, rounded half up. */
export function affiliateCredit(feeMinor: bigint, affiliateShareBps: number): bigint {
  return mulDivHalfUp(feeMinor, BigInt(affiliateShareBps), BPS_SCALE);
}

/** An order's recorded charge and what has been clawed back from it so far. */
export interface ChargeState {
  orderAmountMinor: bigint;
  feeMinor: bigint;
  affiliateCreditMinor: bigint;
  /** Sum of the refunds applied so far, uncapped. */
  refundedMinor: bigint;
  feeClawedBackMinor: bigint;
  affiliateClawedBackMinor: bigint;
}

export interface Clawback {
  /** Returned to the seller by this refund. */
  feeMinor: bigint;
  /** Taken back from the affiliate by this refund. */
  affiliateMinor: bigint;
  /** refundedMinor after this refund (uncapped). */
  refundedAfterMinor: bigint;
}

/**
 * The commission one refund returns: charged_fee * refund / order_amount, rounded half up.
 *
 * Computed on the CUMULATIVE refund: after this refund the seller should have been returned
 * round(fee * min(refunded, order) / order) in total, and this refund returns the difference
 * from what was already returned. For a single refund that is exactly the formula above; for
 * several partial refunds it keeps the rounding from drifting (three thirds of a 100 fee return
 * 33 + 34 + 33 = 100, not 3 x 33 = 99), and once refunds reach the order amount the total is
 * exactly the fee: never more, whatever the refunds add up to. The affiliate credit is clawed
 * back the same way. Fee and credit come from the charge, so the rule version that charged the
 * order is the one that claws back, even if a newer version is in effect today.
 */
export function computeClawback(state: ChargeState, refundMinor: bigint): Clawback {
  if (refundMinor <= 0n)
    throw new ValidationError(`a refund must be positive (got ${refundMinor})`);
  if (state.orderAmountMinor <= 0n)
    throw new RangeError('a charge must have a positive order amount');
  const refundedAfterMinor = state.refundedMinor + refundMinor;
  // Stored in a BIGINT (commission_charge.refunded_minor). Each refund is within the item bound,
  // but their number is not; a sum past int64 is refused here, one request, with the reason,
  // rather than failing the batch on the write.
  if (refundedAfterMinor > INT64_MAX)
    throw new ValidationError(
      `refunds of this order would add up to ${refundedAfterMinor} minor units, past a signed 64-bit integer`,
    );
  const covered =
    refundedAfterMinor < state.orderAmountMinor ? refundedAfterMinor : state.orderAmountMinor;
  const share = (total: bigint, already: bigint) => {
    const due = mulDivHalfUp(total, covered, state.orderAmountMinor) - already;
    // Never negative, even if an operator edited the counters by hand: a clawback never pays out.
    return due > 0n ? due : 0n;
  };
  return {
    feeMinor: share(state.feeMinor, state.feeClawedBackMinor),
    affiliateMinor: share(state.affiliateCreditMinor, state.affiliateClawedBackMinor),
    refundedAfterMinor,
  };
}
