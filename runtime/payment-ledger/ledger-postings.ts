import type { Knex } from '../db/knex';
import { PHASE_POSTING, type LedgerAccount, type TccPhase } from './ledger-accounts';

/** One fund_movement row: a phase of a money transaction, moving `amountMinor` from debit to credit. */
export interface Movement {
  txId: bigint;
  phase: TccPhase;
  currency: string;
  amountMinor: bigint;
}

const CHUNK = 1000;

/**
 * Writes movements and adds them to the running account totals, in the caller's transaction.
 *
 * Call it LAST before COMMIT: every payment touches the same few ledger_account rows (one per
 * currency and account), so whoever updates them holds the busiest locks in the system until it
 * commits. Rows are upserted in primary-key order, so two writers take those locks in the same
 * order and wait for each other instead of deadlocking.
 */
export async function postMovements(trx: Knex.Transaction, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  const rows = movements.map((m) => {
    const { debit, credit } = PHASE_POSTING[m.phase];
    const resolves = m.phase === 'CONFIRM' || m.phase === 'CANCEL';
    return {
      tx_id: m.txId.toString(),
      phase: m.phase,
      debit_account: debit,
      credit_account: credit,
      currency: m.currency,
      amount_minor: m.amountMinor.toString(),
      resolves_tx_id: resolves ? m.txId.toString() : null,
    };
  });
  for (let i = 0; i < rows.length; i += CHUNK)
    await trx('fund_movement').insert(rows.slice(i, i + CHUNK));

  const totals = new Map<
    string,
    { currency: string; account: LedgerAccount; debit: bigint; credit: bigint }
  >();
  const add = (currency: string, account: LedgerAccount, debit: bigint, credit: bigint) => {
    const k = `${currency}|${account}`;
    const t = totals.get(k) ?? { currency, account, debit: 0n, credit: 0n };
    t.debit += debit;
    t.credit += credit;
    totals.set(k, t);
  };
  for (const m of movements) {
    const { debit, credit } = PHASE_POSTING[m.phase];
    add(m.currency, debit, m.amountMinor, 0n);
    add(m.currency, credit, 0n, m.amountMinor);
  }
  const sorted = [...totals.values()].sort((a, b) =>
    a.currency === b.currency ? cmp(a.account, b.account) : cmp(a.currency, b.currency),
  );
  await trx.raw(
    `INSERT INTO ledger_account (currency, account, debit_total, credit_total)
     VALUES ${sorted.map(() => '(?, ?, ?, ?)').join(', ')}
     ON DUPLICATE KEY UPDATE debit_total = debit_total + VALUES(debit_total),
       credit_total = credit_total + VALUES(credit_total), updated_at = CURRENT_TIMESTAMP(3)`,
    sorted.flatMap((t) => [t.currency, t.account, t.debit.toString(), t.credit.toString()]),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
