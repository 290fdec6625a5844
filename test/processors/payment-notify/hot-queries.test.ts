import { intList } from '../../../runtime/db/int-list';
import { tccTry } from '../../../runtime/payment-ledger/tcc-ledger';
import { useTestResources } from '../../fixtures/resources';
import { makePayouts, seedPayoutRows, SMALL_AMOUNT_BASE } from '../../fixtures/payment-harness';

const r = useTestResources();

interface ExplainRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string;
}

/**
 * docs/DESIGN.md, lesson 9: payment's hot queries must use their index. Ids go in as integer
 * literals (intList), never as quoted strings, which turn a primary-key IN into a full index scan.
 */
test('the payment hot queries use their indexes: payout and tcc_state by primary key, the sweep by (status, id)', async () => {
  const { db } = await r.database();
  const payouts = makePayouts(3000, 500, 0, SMALL_AMOUNT_BASE);
  await seedPayoutRows(db, payouts);
  await db.transaction((trx) =>
    tccTry(
      trx,
      payouts.map((p) => ({ txId: p.id, currency: 'SGD', amountMinor: p.amountMinor })),
    ),
  );
  await db.raw(`UPDATE payout SET status = 'SUBMITTED' WHERE id < ${payouts[300]!.id}`);
  await db.raw('ANALYZE TABLE payout, tcc_state');
  const ids = intList(payouts.slice(100, 356).map((p) => p.id));
  const explain = async (sql: string) => ((await db.raw(`EXPLAIN ${sql}`)) as [ExplainRow[]])[0];

  // payout-submit.ts and payment-finalizer.ts: lock a batch of payouts.
  for (const row of await explain(
    `SELECT id, status FROM payout WHERE id IN (${ids}) ORDER BY id FOR UPDATE`,
  ))
    expect(row).toMatchObject({ table: 'payout', type: 'range', key: 'PRIMARY' });
  // tcc-ledger.ts: lock the state rows of a batch before resolving them.
  for (const row of await explain(
    `SELECT tx_id, state FROM tcc_state WHERE tx_id IN (${ids}) ORDER BY tx_id FOR UPDATE`,
  ))
    expect(row).toMatchObject({ table: 'tcc_state', type: 'range', key: 'PRIMARY' });
  // queue-sweeper.ts: one page of SUBMITTED payouts.
  for (const row of await explain(
    `SELECT id FROM payout FORCE INDEX (ix_payout_status_id) WHERE status = 'SUBMITTED' AND id > ${payouts[0]!.id} ORDER BY id LIMIT 1000`,
  ))
    expect(row).toMatchObject({
      table: 'payout',
      type: 'range',
      key: 'ix_payout_status_id',
      Extra: expect.not.stringContaining('filesort'),
    });
});
