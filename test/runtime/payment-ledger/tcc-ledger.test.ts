import { LedgerInvariantError } from '../../../runtime/payment-ledger/ledger-errors';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { tccResolve, tccTry } from '../../../runtime/payment-ledger/tcc-ledger';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
const TX = 652024209997893632n;
/** Above 2^53: a total computed through a JS number or a DOUBLE would be off by one. */
const AMOUNT = 9_007_199_254_740_993n;

describe('TCC over the double-entry ledger', () => {
  test('TRY reserves, CONFIRM pays out, CANCEL gives back; debits equal credits to the last minor unit', async () => {
    const { db } = await r.database();
    await db.transaction((trx) =>
      tccTry(trx, [
        { txId: TX, currency: 'SGD', amountMinor: AMOUNT },
        { txId: TX + 1n, currency: 'SGD', amountMinor: AMOUNT + 1n },
        { txId: TX + 2n, currency: 'VND', amountMinor: 500n },
      ]),
    );
    let b = await ledgerBalances(db);
    expect(netOf(b, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(2n * AMOUNT + 1n);
    expect(netOf(b, 'SGD', 'SELLER_SETTLEMENT')).toBe(0n);
    expect(await ledgerProblems(db)).toEqual([]);

    const res = await db.transaction((trx) =>
      tccResolve(trx, [
        { txId: TX, resolution: 'CONFIRM' },
        { txId: TX + 1n, resolution: 'CANCEL' },
      ]),
    );
    expect(res).toEqual({ applied: [TX, TX + 1n], alreadyResolved: [] });
    b = await ledgerBalances(db);
    expect(netOf(b, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
    expect(netOf(b, 'SGD', 'BANK_CLEARING')).toBe(AMOUNT);
    expect(netOf(b, 'SGD', 'SELLER_SETTLEMENT')).toBe(AMOUNT + 1n);
    expect(netOf(b, 'VND', 'PAYOUT_IN_FLIGHT')).toBe(500n);
    expect(await ledgerProblems(db)).toEqual([]);
  });

  test('a resolution applies once: the same one again is a no-op, the opposite one and one without TRY are refused', async () => {
    const { db } = await r.database();
    await db.transaction((trx) => tccTry(trx, [{ txId: TX, currency: 'SGD', amountMinor: 100n }]));
    await db.transaction((trx) => tccResolve(trx, [{ txId: TX, resolution: 'CONFIRM' }]));
    const again = await db.transaction((trx) =>
      tccResolve(trx, [{ txId: TX, resolution: 'CONFIRM' }]),
    );
    expect(again).toEqual({ applied: [], alreadyResolved: [TX] });
    await expect(
      db.transaction((trx) => tccResolve(trx, [{ txId: TX, resolution: 'CANCEL' }])),
    ).rejects.toThrow(LedgerInvariantError);
    await expect(
      db.transaction((trx) => tccResolve(trx, [{ txId: TX + 9n, resolution: 'CONFIRM' }])),
    ).rejects.toThrow(/without a TRY/);
    await expect(
      db.transaction((trx) => tccTry(trx, [{ txId: TX, currency: 'SGD', amountMinor: 100n }])),
    ).rejects.toThrow(/TRY applied twice/);
    expect(await db('fund_movement').where({ tx_id: TX.toString() }).count({ n: '*' })).toEqual([
      { n: '3' },
    ]);
    expect(await ledgerProblems(db)).toEqual([]);
  });

  test('the schema itself refuses a CANCEL beside a CONFIRM, even from a writer that skips the state lock', async () => {
    const { db } = await r.database();
    await db.transaction((trx) => tccTry(trx, [{ txId: TX, currency: 'SGD', amountMinor: 100n }]));
    await db.transaction((trx) => tccResolve(trx, [{ txId: TX, resolution: 'CONFIRM' }]));
    const cancel = {
      tx_id: TX.toString(),
      phase: 'CANCEL',
      debit_account: 'PAYOUT_IN_FLIGHT',
      credit_account: 'SELLER_SETTLEMENT',
      currency: 'SGD',
      amount_minor: '100',
      resolves_tx_id: TX.toString(),
    };
    await expect(db('fund_movement').insert(cancel)).rejects.toMatchObject({ errno: 1062 });
    await expect(db('fund_movement').insert({ ...cancel, phase: 'CONFIRM' })).rejects.toMatchObject(
      { errno: 1062 },
    );
  });

  test('concurrent resolvers of one transaction serialise on its state row: exactly one wins', async () => {
    const { db } = await r.database();
    await db.transaction((trx) => tccTry(trx, [{ txId: TX, currency: 'SGD', amountMinor: 100n }]));
    const outcomes = await Promise.allSettled([
      db.transaction((trx) => tccResolve(trx, [{ txId: TX, resolution: 'CONFIRM' }])),
      db.transaction((trx) => tccResolve(trx, [{ txId: TX, resolution: 'CANCEL' }])),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect(await ledgerProblems(db)).toEqual([]);
    expect(netOf(await ledgerBalances(db), 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
  });
});
