import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of reconciliation fixes. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A reconciliation fix that must not run as asked: the finding has no documented fix, or its
 * precondition fails (resync of a cycle that is no longer OPEN, whose payouts are snapshotted).
 * Not retriable: the same request would be refused again; the message says what to do instead. */
export class ReconFixRefusedError extends StsError {
  constructor(detail: string, context: ErrorContext = {}, fix?: string) {
    super('STS_RECON_FIX_REFUSED', detail, {
      context: { component: 'recon', ...context },
      fix: fix ?? 'list the open findings and their fixes with `npx sts recon list`',
    });
  }
}
