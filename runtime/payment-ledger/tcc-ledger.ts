import type { Knex } from '../db/knex';
import { intList } from '../db/int-list';
import { LedgerInvariantError } from './ledger-errors';
import { PAIN001_MAX_MINOR } from '../money/money-bounds';
import type { TccState } from './ledger-accounts';
import { postMovements, type Movement } from './ledger-postings';

/**
 * TCC over the double-entry ledger (ledger-accounts.ts has the postings). Each money transaction
 * is TRIED once, then resolved once, by CONFIRM or by CANCEL, never both:
 *   - fund_movement's primary key (tx_id, phase) applies each phase at most once;
 *   - tcc_state is locked (FOR UPDATE) before a resolution, so two resolvers of one tx serialise
 *     and the second sees the first's state;
 *   - fund_movement.resolves_tx_id is unique, so even a writer that skipped the lock could not
 *     store both a CONFIRM and a CANCEL.
 * Both functions run inside the caller's transaction; the money moves iff that transaction commits.
 */

export interface MoneyTx {
  txId: bigint;
  currency: string;
  amountMinor: bigint;
}

export type Resolution = 'CONFIRM' | 'CANCEL';

export interface ResolveResult {
  /** Resolved by this call. */
  applied: bigint[];
  /** Already resolved the same way by an earlier call: nothing written (a redelivery). */
  alreadyResolved: bigint[];
}

const CHUNK = 1000;
const RESOLVED_STATE: Record<Resolution, TccState> = { CONFIRM: 'CONFIRMED', CANCEL: 'CANCELLED' };

/** ACCRUE and TRY for each tx, and its TRIED state row. Call last in the transaction (see postMovements). */
export async function tccTry(trx: Knex.Transaction, txs: MoneyTx[]): Promise<void> {
  if (txs.length === 0) return;
  for (const tx of txs) {
    if (tx.amountMinor <= 0n)
      throw new LedgerInvariantError(tx.txId, `amount ${tx.amountMinor} is not positive`);
    // A payout is bounded (runtime/money/money-bounds.ts); anything larger is a bug upstream, and
    // stopping here keeps every posting inside the columns and the pain.001 amounts it feeds.
    if (tx.amountMinor > PAIN001_MAX_MINOR)
      throw new LedgerInvariantError(tx.txId, `amount ${tx.amountMinor} is more than any payout can be (${PAIN001_MAX_MINOR})`);
  }
  const rows = txs.map((tx) => ({
    tx_id: tx.txId.toString(),
    currency: tx.currency,
    amount_minor: tx.amountMinor.toString(),
    state: 'TRIED' satisfies TccState,
  }));
  try {
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx('tcc_state').insert(rows.slice(i, i + CHUNK));
  } catch (err) {
    // The caller decides "not tried yet" under a lock on the payout; a duplicate here is its bug.
    if ((err as { errno?: number }).errno === 1062)
      throw new LedgerInvariantError(
        txs[0]!.txId,
        'TRY applied twice to a transaction in this batch',
      );
    throw err;
  }
  await postMovements(
    trx,
    txs.flatMap((tx): Movement[] => [
      { ...tx, phase: 'ACCRUE' },
      { ...tx, phase: 'TRY' },
    ]),
  );
}

/**
 * CONFIRM or CANCEL each TRIED tx. A tx already resolved the same way is skipped (so a retried
 * batch is a no-op); one resolved the other way, or never tried, throws LedgerInvariantError and
 * the caller's transaction must roll back.
 */
export async function tccResolve(
  trx: Knex.Transaction,
  decisions: Array<{ txId: bigint; resolution: Resolution }>,
): Promise<ResolveResult> {
  const result: ResolveResult = { applied: [], alreadyResolved: [] };
  if (decisions.length === 0) return result;
  const wanted = new Map<bigint, Resolution>();
  for (const d of decisions) {
    const prior = wanted.get(d.txId);
    if (prior && prior !== d.resolution)
      throw new LedgerInvariantError(d.txId, 'asked to CONFIRM and CANCEL in one batch');
    wanted.set(d.txId, d.resolution);
  }
  const ids = [...wanted.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const states = new Map<bigint, { currency: string; amount: bigint; state: TccState }>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    // Ascending key order, so concurrent resolvers lock in the same order.
    const rows = (await trx.raw(
      `SELECT tx_id, currency, amount_minor, state FROM tcc_state
        WHERE tx_id IN (${intList(ids.slice(i, i + CHUNK))}) ORDER BY tx_id FOR UPDATE`,
    )) as [Array<{ tx_id: string; currency: string; amount_minor: string; state: TccState }>];
    for (const r of rows[0])
      states.set(BigInt(r.tx_id), {
        currency: r.currency,
        amount: BigInt(r.amount_minor),
        state: r.state,
      });
  }

  const movements: Movement[] = [];
  const byState: Record<TccState, bigint[]> = { TRIED: [], CONFIRMED: [], CANCELLED: [] };
  for (const txId of ids) {
    const resolution = wanted.get(txId)!;
    const s = states.get(txId);
    if (!s) throw new LedgerInvariantError(txId, `${resolution} without a TRY`);
    if (s.state === RESOLVED_STATE[resolution]) {
      result.alreadyResolved.push(txId);
      continue;
    }
    if (s.state !== 'TRIED')
      throw new LedgerInvariantError(txId, `${resolution} after the transaction was ${s.state}`);
    movements.push({ txId, phase: resolution, currency: s.currency, amountMinor: s.amount });
    byState[RESOLVED_STATE[resolution]].push(txId);
    result.applied.push(txId);
  }
  for (const state of ['CONFIRMED', 'CANCELLED'] as const) {
    const list = byState[state];
    for (let i = 0; i < list.length; i += CHUNK) {
      await trx.raw(
        `UPDATE tcc_state SET state = ?, resolved_at = NOW(3)
          WHERE tx_id IN (${intList(list.slice(i, i + CHUNK))}) AND state = 'TRIED'`,
        [state],
      );
    }
  }
  await postMovements(trx, movements);
  return result;
}
