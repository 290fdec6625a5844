import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of paying payouts through the gateway. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A payout event disagrees with the payout row it names (seller, currency or amount). Never
 * retriable and never guessed: paying what the event says could pay the wrong seller (lesson 2). */
export class PayoutMismatchError extends StsError {
  constructor(payoutId: bigint, detail: string, context: ErrorContext = {}) {
    super(
      'STS_PAYOUT_MISMATCH',
      `payout ${payoutId}: the event disagrees with the payout row: ${detail}`,
      {
        context: { ...context, payoutId: payoutId.toString() },
        fix: 'compare the event with table payout; fix the producer, then `sts dlq replay` the event',
      },
    );
  }
}

/** Payments are paused because the gateway's circuit breaker is open. Retriable: the batch is
 * given back and retried with back-off once the breaker lets requests through again. */
export class PaymentsPausedError extends StsError {
  constructor(breakerState: string) {
    super(
      'STS_PAYMENTS_PAUSED',
      `payments paused: the gateway circuit breaker is ${breakerState}`,
      {
        context: { component: 'payment-notify', breakerState },
        fix: 'nothing to do; consumption resumes after a successful trial request (check `npx sts status`)',
      },
    );
  }
}

/** A payout is still SUBMITTED after every attempt the compensator may make, or the gateway
 * refused it as malformed. Ops are alerted and the payout is dead-lettered; its money stays in
 * flight until a human decides, because either final state could be wrong. */
export class PayoutUnresolvedError extends StsError {
  constructor(payoutId: bigint, detail: string, context: ErrorContext = {}) {
    super('STS_PAYOUT_UNRESOLVED', `payout ${payoutId} has no final state: ${detail}`, {
      context: { ...context, payoutId: payoutId.toString() },
      fix: 'look the payout up at the gateway by its id (the Idempotency-Key), then settle it by hand',
    });
  }
}
