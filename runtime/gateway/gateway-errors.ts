import { StsError, type ErrorContext } from '../errors';

/**
 * Errors of the payment gateway client. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The payment gateway gave no answer we can trust (timeout, reset, refused, 5xx, breaker open).
 * Retriable, but only with the same Idempotency-Key: the payout may or may not have executed. */
export class GatewayUnavailableError extends StsError {
  readonly reason: string;
  constructor(reason: string, detail: string, context: ErrorContext = {}, cause?: unknown) {
    super('STS_GATEWAY_UNAVAILABLE', `payment gateway ${reason}: ${detail}`, {
      context: { component: 'payment-gateway', reason, ...context },
      fix: 'look the payout up by its key before resending; check STS_GATEWAY_URL and `npx sts status`',
      cause,
    });
    this.reason = reason;
  }
}

/** The gateway saw this Idempotency-Key before with a different body. A bug, never retried:
 * resending would either be refused again or, with a new key, pay twice. */
export class GatewayKeyConflictError extends StsError {
  constructor(key: string, detail: string) {
    super(
      'STS_GATEWAY_KEY_CONFLICT',
      `idempotency key ${key} was used with a different payout: ${detail}`,
      {
        context: { component: 'payment-gateway', key },
        fix: 'derive the key from the payout id only, and never change a payout after it was first sent',
      },
    );
  }
}

/** The gateway refused the request as malformed (400 or another unexpected 4xx). Not retriable. */
export class GatewayRequestInvalidError extends StsError {
  constructor(status: number, detail: string, context: ErrorContext = {}) {
    super(
      'STS_GATEWAY_REQUEST_INVALID',
      `payment gateway refused the request (HTTP ${status}): ${detail}`,
      {
        context: { component: 'payment-gateway', status, ...context },
        fix: 'the request breaks the gateway contract; fix the caller (ids and amounts are decimal strings)',
      },
    );
  }
}
