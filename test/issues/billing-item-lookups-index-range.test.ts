import { useTestResources } from '../fixtures/resources';
import { IN_LIST_MAX } from '../../runtime/db/int-list';
import { orderRangeSql, sellersByOrderSql as sellerCheckSql } from '../../processors/upload-ingestion/ledger-order-sellers';

/**
 * The seller check of a 1M-row upload sent 5000 order ids per statement; MariaDB rewrote each list
 * into a join with a temporary table, and in runs where the server's CPU tripled, a third of it
 * was spent inside those joins. The statement now carries at most IN_LIST_MAX ids and names its
 * index, so its plan is a range on the index whatever the table's statistics say.
 */
const r = useTestResources();
const orders = (n: number) => Array.from({ length: n }, (_, i) => 700000000000000000n + BigInt(i));

type PlanRow = { table: string; type: string; key: string | null; Extra: string };

describe('billing-item lookups by a list of ids', () => {
  test('the seller check is one range on ix_billing_item_order, on a fresh table', async () => {
    const { db } = await r.database();
    const [plan] = (await db.raw(`EXPLAIN ${sellerCheckSql(orders(IN_LIST_MAX))}`)) as [PlanRow[]];
    expect(plan).toEqual([expect.objectContaining({ table: 'billing_item', type: 'range', key: 'ix_billing_item_order' })]);
  });

  test('the range read of a dense run of orders stays inside ix_billing_item_order (no row is read)', async () => {
    const { db } = await r.database();
    const [plan] = (await db.raw(`EXPLAIN ${orderRangeSql(700000000000000000n, 700000000000030000n, 20001)}`)) as [PlanRow[]];
    expect(plan).toEqual([expect.objectContaining({ table: 'billing_item', type: 'range', key: 'ix_billing_item_order' })]);
    expect(plan[0]!.Extra).toMatch(/Using index/);
  });

  test('the same statement with 1000 ids becomes a join through a temporary table: why the lists stay shorter', async () => {
    const { db } = await r.database();
    const [plan] = (await db.raw(`EXPLAIN ${sellerCheckSql(orders(1000))}`)) as [PlanRow[]];
    expect(plan.length).toBeGreaterThan(1);
    expect(plan.map((p) => p.table)).toContainEqual(expect.stringMatching(/^<(subquery|derived)\d+>$/));
  });
});
