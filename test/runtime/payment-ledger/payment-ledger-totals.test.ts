import { useTestResources } from '../../fixtures/resources';
import { LedgerInvariantError } from '../../../runtime/payment-ledger/ledger-errors';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { tccResolve, tccTry } from '../../../runtime/payment-ledger/tcc-ledger';
import { DEFAULT_MONEY_BOUNDS, INT64_MAX, PAIN001_MAX_MINOR } from '../../../runtime/money/money-bounds';

/**
 * The payment ledger's account totals add up every payout ever made in a currency, across cycles,
 * so no bound keeps them inside a BIGINT: they are DECIMAL(38,0) (migration 0013). Here 120
 * payouts at the payout bound, together past 2^63, are tried and confirmed through the real TCC
 * ledger, and every total is exact.
 */
const r = useTestResources();
const PAYOUT = DEFAULT_MONEY_BOUNDS.maxPayoutMinor;

test('account totals past 2^63 (120 payouts at the payout bound) stay exact, and the ledger balances', async () => {
  const { db } = await r.database();
  const txs = Array.from({ length: 120 }, (_, i) => ({ txId: 386000000000000000n + BigInt(i), currency: 'SGD', amountMinor: PAYOUT - BigInt(i) }));
  const total = txs.reduce((a, t) => a + t.amountMinor, 0n);
  expect(total).toBeGreaterThan(INT64_MAX);
  // Several transactions, as payment-notify writes them: each adds to the same account rows.
  for (let i = 0; i < txs.length; i += 40) await db.transaction((trx) => tccTry(trx, txs.slice(i, i + 40)));
  await db.transaction((trx) => tccResolve(trx, txs.slice(0, 100).map((t) => ({ txId: t.txId, resolution: 'CONFIRM' as const }))));
  await db.transaction((trx) => tccResolve(trx, txs.slice(100).map((t) => ({ txId: t.txId, resolution: 'CANCEL' as const }))));

  const balances = await ledgerBalances(db);
  const confirmed = txs.slice(0, 100).reduce((a, t) => a + t.amountMinor, 0n);
  expect(balances.get('SGD')!.get('SYSTEM')).toEqual({ debit: total, credit: 0n, net: -total });
  expect(netOf(balances, 'SGD', 'BANK_CLEARING')).toBe(confirmed);
  expect(netOf(balances, 'SGD', 'SELLER_SETTLEMENT')).toBe(total - confirmed);
  expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
  expect(await ledgerProblems(db)).toEqual([]);
});

test('a money transaction larger than any payout can be is refused before anything is posted', async () => {
  const { db } = await r.database();
  const error = await db.transaction((trx) => tccTry(trx, [{ txId: 386000000000001000n, currency: 'SGD', amountMinor: PAIN001_MAX_MINOR + 1n }])).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LedgerInvariantError);
  const [{ n }] = (await db('fund_movement').count({ n: '*' })) as [{ n: string }];
  expect(n).toBe('0');
});
