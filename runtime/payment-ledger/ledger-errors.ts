import { StsError } from '../errors';

/**
 * Errors of the payment ledger. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A TCC phase out of order (CONFIRM without TRY, CONFIRM after CANCEL, a second TRY). A bug,
 * never retried: applying it would move money the ledger says is not there. */
export class LedgerInvariantError extends StsError {
  constructor(txId: bigint, detail: string) {
    super('STS_LEDGER_INVARIANT', `money transaction ${txId}: ${detail}`, {
      context: { txId: txId.toString() },
      fix: 'inspect tcc_state and fund_movement for the tx id; the ledger was left unchanged',
    });
  }
}
