import { useTestResources } from '../../fixtures/resources';
import { appendBillingItems, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { denseRuns, ledgerSellersOf } from '../../../processors/upload-ingestion/ledger-order-sellers';
import type { Knex } from '../../../runtime/db/knex';

/**
 * The seller check's lookup (docs/DESIGN.md, lesson 2): a long run of close order ids is one range
 * read of ix_billing_item_order, a crowded range or a sparse set is read by id, and every way gives
 * the ledger's sellers exactly.
 */
const r = useTestResources();

const ORDER = 710000000000000000n;
const SELLER_A = 652024209997893632n;
const SELLER_B = 652024209997893633n;
let nextId = 910000000000000000n;
const item = (orderId: bigint, shopUserId: bigint): BillingItemInput => ({
  id: nextId++,
  region: 'SG',
  shopUserId,
  currency: 'SGD',
  amountMinor: 100n,
  itemType: 'ADJUSTMENT',
  source: 'UPLOAD',
  sourceRef: `los-${nextId}`,
  orderId,
  cycleId: 20261116n,
});
const range = (from: bigint, count: number, step = 1n) => Array.from({ length: count }, (_, i) => from + BigInt(i) * step);

/** The statements the lookup sends, by kind. */
async function lookup(db: Knex, orderIds: bigint[]) {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => sql.push(q.sql);
  db.on('query', listen);
  try {
    const sellers = await db.transaction((trx) => ledgerSellersOf(trx, orderIds));
    return {
      sellers,
      ranges: sql.filter((s) => s.includes(' BETWEEN ')),
      byId: sql.filter((s) => s.includes(' IN (')).map((s) => s.slice(s.indexOf(' IN (') + 5, -1).split(',').length),
    };
  } finally {
    db.off('query', listen);
  }
}

test('a dense run is one range read; only the orders found in it are read by id', async () => {
  const { db } = await r.database();
  await db.transaction((trx) => appendBillingItems(trx, [item(ORDER + 10n, SELLER_A), item(ORDER + 50n, SELLER_B), item(ORDER + 50n, SELLER_B), item(ORDER + 2000n, SELLER_A)]));

  const { sellers, ranges, byId } = await lookup(db, range(ORDER, 300));
  expect(sellers).toEqual(new Map([[ORDER + 10n, SELLER_A], [ORDER + 50n, SELLER_B]]));
  expect(ranges).toHaveLength(1);
  expect(byId).toEqual([2]);
});

test('a range crowded with other orders is read by id instead, with the same answer', async () => {
  const { db } = await r.database();
  // Every order from 1 to 1000 is in the ledger; the lookup asks for every tenth.
  const ledger = range(ORDER + 1n, 1000).map((o) => item(o, o % 2n === 0n ? SELLER_A : SELLER_B));
  await db.transaction((trx) => appendBillingItems(trx, ledger));

  const asked = range(ORDER + 10n, 100, 10n);
  const { sellers, ranges, byId } = await lookup(db, asked);
  expect(sellers).toEqual(new Map(asked.map((o) => [o, o % 2n === 0n ? SELLER_A : SELLER_B])));
  expect(ranges).toHaveLength(1);
  expect(byId).toEqual([100]);
});

test('sparse ids and short runs are read by id alone', async () => {
  const { db } = await r.database();
  await db.transaction((trx) => appendBillingItems(trx, [item(ORDER + 1000n, SELLER_A), item(ORDER + 3n, SELLER_B)]));

  const sparse = range(ORDER, 200, 1000n);
  const short = range(ORDER + 1n, 10);
  const { sellers, ranges, byId } = await lookup(db, [...sparse, ...short]);
  expect(sellers).toEqual(new Map([[ORDER + 1000n, SELLER_A], [ORDER + 3n, SELLER_B]]));
  expect(ranges).toEqual([]);
  // 210 ids, one list (at most 500 a statement).
  expect(byId).toEqual([210]);
});

test('runs are cut where neighbours are more than 16 apart', () => {
  expect(denseRuns([1n, 2n, 18n, 35n, 36n, 100n])).toEqual([[1n, 2n, 18n], [35n, 36n], [100n]]);
  expect(denseRuns([])).toEqual([]);
});
