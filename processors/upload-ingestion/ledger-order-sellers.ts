import type { Knex } from 'knex';
import { IN_LIST_MAX, intList } from '../../runtime/db/int-list';

/**
 * The sellers the ledger already holds for a set of orders: what the seller check of
 * docs/DESIGN.md, lesson 2 compares an upload's rows with.
 *
 * Read by id, every order costs one dive into ix_billing_item_order. For a 1M-row upload that was
 * the largest piece of server work LOAD DATA does not do (about 2 of the server's 20 CPU-s). Order
 * ids from one upstream are often dense (sequential order numbers), so the ids are first cut into
 * runs of close neighbours, and a long run is read as one range of the index instead: order_id
 * plus the primary key, so the range never touches the rows. Only the orders found there are then
 * read by id for their sellers, and a new order (the common case) costs no dive at all.
 *
 * Other orders may sit between a run's ids. A range holding more than RANGE_ENTRIES_PER_ID entries
 * per id of its run is abandoned at that count and its ids are read by id after all, so the worst
 * case is a short sequential read on top of the per-id cost.
 */

/** Fewer ids than this are read by id: a range saves nothing over a handful of dives. */
const RUN_MIN_IDS = 64;
/** The largest step between neighbouring ids of one run. */
const RUN_MAX_GAP = 16n;
/** Index entries a range may hold per id of its run before its ids are read by id instead. */
const RANGE_ENTRIES_PER_ID = 4;

/** The ledger's seller for each of `orderIds` it holds items for (the first found, if several). */
export async function ledgerSellersOf(trx: Knex.Transaction, orderIds: Iterable<bigint>): Promise<Map<bigint, bigint>> {
  const wanted = new Set(orderIds);
  const byId: bigint[] = [];
  for (const run of denseRuns([...wanted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))) {
    const found = run.length < RUN_MIN_IDS ? null : await ordersInRange(trx, run[0]!, run[run.length - 1]!, run.length * RANGE_ENTRIES_PER_ID);
    if (found === null) byId.push(...run);
    else for (const order of found) if (wanted.has(order)) byId.push(order);
  }
  const sellers = new Map<bigint, bigint>();
  for (let i = 0; i < byId.length; i += IN_LIST_MAX) {
    const [rows] = (await trx.raw(sellersByOrderSql(byId.slice(i, i + IN_LIST_MAX)))) as [Array<{ order_id: string; shop_user_id: string }>];
    for (const r of rows) {
      const order = BigInt(r.order_id);
      if (!sellers.has(order)) sellers.set(order, BigInt(r.shop_user_id));
    }
  }
  return sellers;
}

/** Sorted ids cut wherever neighbours are more than RUN_MAX_GAP apart. */
export function denseRuns(sorted: bigint[]): bigint[][] {
  const runs: bigint[][] = [];
  let run: bigint[] = [];
  for (const id of sorted) {
    if (run.length > 0 && id - run[run.length - 1]! > RUN_MAX_GAP) {
      runs.push(run);
      run = [];
    }
    run.push(id);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The distinct orders the ledger holds in [from, to], or null if there are more than `limit` entries. */
async function ordersInRange(trx: Knex.Transaction, from: bigint, to: bigint, limit: number): Promise<Set<bigint> | null> {
  const [rows] = (await trx.raw(orderRangeSql(from, to, limit + 1))) as [Array<{ order_id: string }>];
  if (rows.length > limit) return null;
  return new Set(rows.map((r) => BigInt(r.order_id)));
}

/**
 * Integer literals, never string parameters (docs/DESIGN.md, lesson 9), and the index named, so no
 * table statistics can turn either statement into a scan. Exported so a test can EXPLAIN them.
 */
export function orderRangeSql(from: bigint, to: bigint, limit: number): string {
  return `SELECT order_id FROM billing_item FORCE INDEX (ix_billing_item_order) WHERE order_id BETWEEN ${intList([from])} AND ${intList([to])} LIMIT ${Math.trunc(limit)}`;
}

/** The sellers of up to IN_LIST_MAX orders, as a range on ix_billing_item_order. */
export function sellersByOrderSql(orderIds: bigint[]): string {
  return `SELECT DISTINCT order_id, shop_user_id FROM billing_item FORCE INDEX (ix_billing_item_order) WHERE order_id IN (${intList(orderIds)})`;
}
