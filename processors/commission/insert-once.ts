import { ConcurrentWriteError } from '../../runtime/billing/billing-errors';

/**
 * Runs a commission INSERT whose keys were absent when the batch looked. A duplicate key then
 * means another consumer (a zombie after a rebalance) committed the same request in between:
 * the batch is retried (as the billing ledger does), and the rerun finds that row and changes
 * nothing.
 */
export async function insertOnce(insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert();
  } catch (err) {
    if ((err as { errno?: number }).errno === 1062) {
      throw new ConcurrentWriteError(
        'a commission row was inserted concurrently; retrying the batch',
        err,
      );
    }
    throw err;
  }
}
