import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of operator actions on payouts. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A release or cancel of a payout that its state, or the four-eyes rule, does not allow. */
export class PayoutActionRefusedError extends StsError {
  constructor(payoutId: bigint, detail: string, fix: string, context: ErrorContext = {}) {
    super('STS_PAYOUT_ACTION_REFUSED', `payout ${payoutId}: ${detail}`, {
      context: { ...context, payoutId: payoutId.toString() },
      fix,
    });
  }
}
