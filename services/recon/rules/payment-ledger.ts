import { formatMoney, formatMoneyText } from '../../../runtime/money/money-text';
import { capped, existingTables, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 6 (docs/DESIGN.md, lesson 6): the double-entry payment ledger of payment-notify
 * (runtime/payment-ledger/, migration 0006_payment_ledger) holds together:
 *   - per currency, Σ debit_total = Σ credit_total over ledger_account;
 *   - each account's running totals equal the sums of its fund_movement rows (one finding per
 *     currency, naming the accounts that differ);
 *   - PAYOUT_IN_FLIGHT (credit - debit) equals the sum of SUBMITTED payouts: money reserved for
 *     the gateway is exactly what is out there with no outcome yet;
 *   - each money transaction has one ACCRUE and one TRY, at most one CONFIRM or CANCEL, and a
 *     RETURN (its amount back in the seller's balance) only after a CANCEL.
 * Each comparison is one statement: payment-notify moves payout status and ledger rows in one
 * transaction, so one snapshot sees both sides agree. Skipped, with an INFO finding that says
 * why, where the ledger tables do not exist.
 */
export const RULE = 'payment-ledger';

const LEDGER_TABLES = ['ledger_account', 'fund_movement'];

export const paymentLedger: ReconRule = {
  name: RULE,
  description:
    'the payment ledger balances per currency, its totals equal its movements, and PAYOUT_IN_FLIGHT equals the SUBMITTED payouts',
  async check(ctx) {
    const present = await existingTables(ctx.db, LEDGER_TABLES);
    const absent = LEDGER_TABLES.filter((t) => !present.has(t));
    if (absent.length > 0) {
      return [
        {
          rule: RULE,
          severity: 'INFO',
          entity: 'recon/skipped',
          detail: `skipped: table(s) ${absent.join(', ')} do not exist in this database (the payment ledger, migration 0006_payment_ledger, is not applied)`,
        },
      ];
    }
    const findings: Finding[] = [];

    const unbalanced = await rows<{ currency: string; d: string; c: string }>(
      ctx.db,
      `SELECT currency, CAST(SUM(debit_total) AS CHAR) AS d, CAST(SUM(credit_total) AS CHAR) AS c
         FROM ledger_account GROUP BY currency HAVING SUM(debit_total) <> SUM(credit_total)`,
    );
    for (const u of unbalanced)
      findings.push({
        rule: RULE,
        severity: 'CRITICAL',
        entity: `ledger/${u.currency}`,
        detail: `${u.currency}: debits ${formatMoneyText(u.d, u.currency)} != credits ${formatMoneyText(u.c, u.currency)}`,
      });

    const sides = await rows<{
      src: string;
      currency: string;
      account: string;
      d: string;
      c: string;
    }>(
      ctx.db,
      `SELECT 'totals' AS src, currency, account, CAST(debit_total AS CHAR) AS d, CAST(credit_total AS CHAR) AS c FROM ledger_account
       UNION ALL
       SELECT 'movements', currency, account, CAST(SUM(d) AS CHAR), CAST(SUM(c) AS CHAR) FROM (
         SELECT currency, debit_account AS account, amount_minor AS d, 0 AS c FROM fund_movement
         UNION ALL
         SELECT currency, credit_account, 0, amount_minor FROM fund_movement) m
       GROUP BY currency, account`,
    );
    type Sides = { debit: bigint; credit: bigint };
    const book = new Map<string, { totals: Sides; movements: Sides }>();
    for (const s of sides) {
      const k = `${s.currency}|${s.account}`;
      const entry = book.get(k) ?? { totals: { debit: 0n, credit: 0n }, movements: { debit: 0n, credit: 0n } };
      entry[s.src === 'totals' ? 'totals' : 'movements'] = { debit: BigInt(s.d), credit: BigInt(s.c) };
      book.set(k, entry);
    }
    const off = new Map<string, string[]>();
    for (const [k, v] of book) {
      if (v.totals.debit === v.movements.debit && v.totals.credit === v.movements.credit) continue;
      const [currency, account] = k.split('|') as [string, string];
      const shown = (x: Sides) => `debit ${formatMoney(x.debit, currency)}, credit ${formatMoney(x.credit, currency)}`;
      off.set(currency, [
        ...(off.get(currency) ?? []),
        `${account} totals ${shown(v.totals)} but movements ${shown(v.movements)}`,
      ]);
    }
    for (const [currency, lines] of off)
      findings.push({
        rule: RULE,
        severity: 'CRITICAL',
        entity: `ledger/${currency}/movements`,
        detail: `${currency}: ${lines.join('; ')}`,
      });

    const flight = await rows<{ src: string; currency: string; amt: string }>(
      ctx.db,
      `SELECT 'ledger' AS src, currency, CAST(credit_total - debit_total AS CHAR) AS amt FROM ledger_account WHERE account = 'PAYOUT_IN_FLIGHT'
       UNION ALL
       SELECT 'payouts', currency, CAST(SUM(amount_minor) AS CHAR) FROM payout WHERE status = 'SUBMITTED' GROUP BY currency`,
    );
    const inFlight = new Map<string, { ledger: bigint; payouts: bigint }>();
    for (const f of flight) {
      const e = inFlight.get(f.currency) ?? { ledger: 0n, payouts: 0n };
      e[f.src === 'ledger' ? 'ledger' : 'payouts'] = BigInt(f.amt);
      inFlight.set(f.currency, e);
    }
    for (const [currency, e] of inFlight) {
      if (e.ledger !== e.payouts)
        findings.push({
          rule: RULE,
          severity: 'CRITICAL',
          entity: `ledger/${currency}/in-flight`,
          detail: `${currency}: PAYOUT_IN_FLIGHT is ${formatMoney(e.ledger, currency)} but SUBMITTED payouts sum to ${formatMoney(e.payouts, currency)}`,
        });
    }

    const limit = ctx.options.maxFindingsPerCheck;
    const bad = await rows<{ tx: string; accrue: string; tries: string; res: string; ret: string }>(
      ctx.db,
      `SELECT CAST(tx_id AS CHAR) AS tx, SUM(phase = 'ACCRUE') AS accrue, SUM(phase = 'TRY') AS tries, SUM(phase IN ('CONFIRM', 'CANCEL')) AS res,
              SUM(phase = 'RETURN') AS ret, SUM(phase = 'CANCEL') AS cancels
         FROM fund_movement GROUP BY tx_id HAVING accrue <> 1 OR tries <> 1 OR res > 1 OR ret > cancels LIMIT ?`,
      [limit + 1],
    );
    const txFindings = bad.map((b): Finding => ({
      rule: RULE,
      severity: 'CRITICAL',
      entity: `ledger/tx/${b.tx}`,
      detail: `money transaction ${b.tx} has ${b.accrue} ACCRUE, ${b.tries} TRY, ${b.res} CONFIRM/CANCEL and ${b.ret} RETURN rows (want 1, 1, at most 1, and a RETURN only after a CANCEL)`,
    }));
    return [...findings, ...capped(txFindings, limit, RULE, 'ledger/tx', 'CRITICAL')];
  },
};
