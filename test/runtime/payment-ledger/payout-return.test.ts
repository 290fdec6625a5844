import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease } from '../../../runtime/ids/worker-lease';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { returnPayouts, type ReturnedPayout } from '../../../runtime/payment-ledger/payout-return';
import { tccResolve, tccTry } from '../../../runtime/payment-ledger/tcc-ledger';
import { useTestResources } from '../../fixtures/resources';

/**
 * A payout that will not be paid gives its amount back to the seller exactly once, however many
 * times the return is asked for (a redelivered bank report, a retried transaction).
 */
const r = useTestResources();

test('a refused payout is returned once: one PAYOUT_RETURN item in the open cycle and one RETURN posting, however often it is asked', async () => {
  const { db } = await r.database();
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'return-test' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  const tried: ReturnedPayout = { payoutId: 652024209997893632n, region: 'SG', shopUserId: 652024209997800001n, currency: 'SGD', amountMinor: 9_007_199_254_740_993n, cycleId: 20261116n, cancelledInLedger: true, why: 'refused by the bank (AC04)' };
  const neverTried: ReturnedPayout = { ...tried, payoutId: tried.payoutId + 1n, shopUserId: tried.shopUserId + 1n, amountMinor: 500n, cancelledInLedger: false, why: 'cancelled by cli:ops' };
  await db.transaction(async (trx) => {
    await tccTry(trx, [{ txId: tried.payoutId, currency: 'SGD', amountMinor: tried.amountMinor }]);
    await tccResolve(trx, [{ txId: tried.payoutId, resolution: 'CANCEL' }]);
  });

  const first = await db.transaction((trx) => returnPayouts(trx, ids, [tried, neverTried]));
  expect(first.returned.sort()).toEqual([tried.payoutId, neverTried.payoutId].sort());
  for (let i = 0; i < 2; i++) {
    const again = await db.transaction((trx) => returnPayouts(trx, ids, [tried, neverTried]));
    expect(again.returned).toEqual([]);
  }

  const open = cycleIdFor('SG', new Date()).toString();
  const items = (await db('billing_item').where({ source: 'PAYOUT_RETURN' }).orderBy('source_ref').select('source_ref', db.raw('CAST(amount_minor AS CHAR) AS amount'), db.raw('CAST(cycle_id AS CHAR) AS cycle'), 'item_type')) as Array<Record<string, string>>;
  expect(items).toEqual([
    { source_ref: tried.payoutId.toString(), amount: tried.amountMinor.toString(), cycle: open, item_type: 'PAYOUT_RETURN' },
    { source_ref: neverTried.payoutId.toString(), amount: '500', cycle: open, item_type: 'PAYOUT_RETURN' },
  ]);
  expect(await db('fund_movement').where({ phase: 'RETURN' }).pluck('tx_id')).toEqual([tried.payoutId.toString()]);
  const balances = await ledgerBalances(db);
  // ACCRUE then CANCEL left it owed in SELLER_SETTLEMENT; RETURN hands it to the billing balance.
  expect(netOf(balances, 'SGD', 'SELLER_SETTLEMENT')).toBe(0n);
  expect(netOf(balances, 'SGD', 'SYSTEM')).toBe(0n);
  expect(await ledgerProblems(db)).toEqual([]);
}, 60_000);
