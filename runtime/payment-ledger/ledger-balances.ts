import type { Knex } from '../db/knex';
import type { LedgerAccount } from './ledger-accounts';

/**
 * Reading the payment ledger back, for tests, benchmarks and reconciliation: balances per currency
 * and account, and the checks that prove it by results rather than by code paths (lesson 10).
 */

export interface AccountBalance {
  debit: bigint;
  credit: bigint;
  /** credit - debit: positive for what is owed (SELLER_SETTLEMENT) or in flight. */
  net: bigint;
}

export type Balances = Map<string, Map<LedgerAccount, AccountBalance>>;

export async function ledgerBalances(db: Knex): Promise<Balances> {
  const rows = (await db('ledger_account').select(
    'currency',
    'account',
    db.raw('CAST(debit_total AS CHAR) AS debit_total'),
    db.raw('CAST(credit_total AS CHAR) AS credit_total'),
  )) as Array<{
    currency: string;
    account: LedgerAccount;
    debit_total: string;
    credit_total: string;
  }>;
  const out: Balances = new Map();
  for (const r of rows) {
    const debit = BigInt(r.debit_total);
    const credit = BigInt(r.credit_total);
    const accounts = out.get(r.currency) ?? new Map<LedgerAccount, AccountBalance>();
    accounts.set(r.account, { debit, credit, net: credit - debit });
    out.set(r.currency, accounts);
  }
  return out;
}

/** Net of one account (0 when it has no row yet). */
export function netOf(balances: Balances, currency: string, account: LedgerAccount): bigint {
  return balances.get(currency)?.get(account)?.net ?? 0n;
}

/**
 * Every way the ledger could be wrong, as readable lines (empty when it is right):
 *   - per currency, total debits differ from total credits;
 *   - an account's totals differ from the sum of its fund_movement rows;
 *   - PAYOUT_IN_FLIGHT differs from the amounts of the transactions still TRIED;
 *   - a transaction has a resolution without a TRY, or both CONFIRM and CANCEL.
 */
export async function ledgerProblems(db: Knex): Promise<string[]> {
  const problems: string[] = [];
  const balances = await ledgerBalances(db);
  for (const [currency, accounts] of balances) {
    let debit = 0n;
    let credit = 0n;
    for (const a of accounts.values()) {
      debit += a.debit;
      credit += a.credit;
    }
    if (debit !== credit) problems.push(`${currency}: debits ${debit} != credits ${credit}`);
  }

  const [sums] = (await db.raw(
    `SELECT currency, account, CAST(SUM(debit) AS CHAR) AS debit, CAST(SUM(credit) AS CHAR) AS credit FROM (
       SELECT currency, debit_account AS account, amount_minor AS debit, 0 AS credit FROM fund_movement
       UNION ALL
       SELECT currency, credit_account AS account, 0 AS debit, amount_minor AS credit FROM fund_movement
     ) m GROUP BY currency, account`,
  )) as [Array<{ currency: string; account: LedgerAccount; debit: string; credit: string }>];
  for (const s of sums) {
    const b = balances.get(s.currency)?.get(s.account);
    if (!b || b.debit !== BigInt(s.debit) || b.credit !== BigInt(s.credit))
      problems.push(
        `${s.currency} ${s.account}: totals ${b?.debit ?? 0n}/${b?.credit ?? 0n} != movements ${s.debit}/${s.credit}`,
      );
  }

  const [tried] = (await db.raw(
    `SELECT currency, CAST(SUM(amount_minor) AS CHAR) AS amount FROM tcc_state WHERE state = 'TRIED' GROUP BY currency`,
  )) as [Array<{ currency: string; amount: string }>];
  const inFlight = new Map(tried.map((t) => [t.currency, BigInt(t.amount)]));
  for (const currency of new Set([...balances.keys(), ...inFlight.keys()])) {
    const net = netOf(balances, currency, 'PAYOUT_IN_FLIGHT');
    if (net !== (inFlight.get(currency) ?? 0n))
      problems.push(
        `${currency}: PAYOUT_IN_FLIGHT ${net} != TRIED transactions ${inFlight.get(currency) ?? 0n}`,
      );
  }

  const [bad] = (await db.raw(
    `SELECT CAST(tx_id AS CHAR) AS tx_id,
            SUM(phase = 'TRY') AS tries, SUM(phase IN ('CONFIRM', 'CANCEL')) AS resolutions,
            SUM(phase = 'RETURN') AS returns, SUM(phase = 'CANCEL') AS cancels
       FROM fund_movement GROUP BY tx_id
      HAVING tries <> 1 OR resolutions > 1 OR returns > cancels LIMIT 20`,
  )) as [Array<{ tx_id: string; tries: string; resolutions: string; returns: string }>];
  for (const b of bad)
    problems.push(`tx ${b.tx_id}: ${b.tries} TRY, ${b.resolutions} resolutions and ${b.returns} RETURN (only after a CANCEL)`);
  return problems;
}
