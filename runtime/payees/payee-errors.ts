import { StsError, type ErrorContext } from '../errors';

/**
 * Errors of payee registration. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A payee account that a bank could not pay to (runtime/payees/payee-details.ts says why). */
export class PayeeInvalidError extends StsError {
  constructor(detail: string, fix: string, context: ErrorContext = {}) {
    super('STS_PAYEE_INVALID', detail, { context: { component: 'payees', ...context }, fix });
  }
}
