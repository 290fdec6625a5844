import type { Knex } from 'knex';
import type { PayoutFileKey, PayoutLine } from './pain001-writer';

/**
 * Which payouts a file holds, and how they are read: in pages, so a region with a million
 * payouts never has more than one page in memory.
 *
 * A payout is in its cycle's file once it exists and is not held back: PENDING, and also
 * SUBMITTED, PAID and FAILED, because those are later states of a payout that was PENDING when
 * the file was first written. Leaving them out would change the file's bytes as payouts get
 * paid, and a released file must never change. ON_HOLD and CARRIED_FORWARD are not paid in this
 * cycle, so they are not in its file.
 *
 * Pages use keyset pagination (`id > last ORDER BY id LIMIT n`), not OFFSET, so each page costs
 * the same however deep into the cycle it is; ix_payout_file_page serves it in index order.
 * Parameters are bound as decimal strings against BIGINT columns: exact, and the index stays
 * usable (DESIGN lessons 8 and 9; test/payout-file checks the plan with EXPLAIN).
 */
export const PAYABLE_STATUSES: readonly string[] = Object.freeze([
  'PENDING',
  'SUBMITTED',
  'PAID',
  'FAILED',
]);

export const PAGE_SIZE = 10_000;

export interface PayoutRecord extends PayoutLine {
  status: string;
}

interface PayoutRow {
  id: string;
  cycle_id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
}

const COLUMNS = ['id', 'cycle_id', 'region', 'shop_user_id', 'currency', 'amount_minor', 'status'];

export function toPayoutRecord(row: PayoutRow): PayoutRecord {
  return {
    id: BigInt(row.id),
    cycleId: BigInt(row.cycle_id),
    region: row.region,
    shopUserId: BigInt(row.shop_user_id),
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    status: row.status,
  };
}

export interface PayableGroup {
  currency: string;
  nbOfTxs: number;
  ctrlSumMinor: bigint;
}

/** Count and total per currency of a region's payable payouts in a cycle, by currency. */
export async function payableGroups(
  db: Knex,
  region: string,
  cycleId: bigint,
): Promise<PayableGroup[]> {
  const rows = (await db('payout')
    .select('currency')
    .count({ n: '*' })
    .sum({ total: 'amount_minor' })
    .where({ region, cycle_id: cycleId.toString() })
    .whereIn('status', PAYABLE_STATUSES)
    .groupBy('currency')
    .orderBy('currency')) as Array<{ currency: string; n: string | number; total: string | null }>;
  // SUM over BIGINT is DECIMAL, returned as a string: exact, whatever the total.
  return rows.map((r) => ({
    currency: r.currency,
    nbOfTxs: Number(r.n),
    ctrlSumMinor: BigInt(r.total ?? '0'),
  }));
}

/** The keyset page query, exported so a test can EXPLAIN it. */
export function payablePageQuery(
  db: Knex,
  key: PayoutFileKey,
  afterId: bigint,
  limit: number,
): Knex.QueryBuilder {
  return db('payout')
    .select(COLUMNS)
    .where({ region: key.region, cycle_id: key.cycleId.toString(), currency: key.currency })
    .where('id', '>', afterId.toString())
    .whereIn('status', PAYABLE_STATUSES)
    .orderBy('id')
    .limit(limit);
}

/** The payable payouts of one file, in id order, a page at a time. */
export async function* payablePages(
  db: Knex,
  key: PayoutFileKey,
  pageSize = PAGE_SIZE,
): AsyncGenerator<PayoutRecord[]> {
  let after = 0n;
  for (;;) {
    const rows = (await payablePageQuery(db, key, after, pageSize)) as PayoutRow[];
    if (rows.length === 0) return;
    const page = rows.map(toPayoutRecord);
    yield page;
    after = page[page.length - 1]!.id;
    if (rows.length < pageSize) return;
  }
}

/** The payouts with these ids, whatever their region or status (verify compares them). */
export async function payoutsById(
  db: Knex,
  ids: readonly bigint[],
): Promise<Map<bigint, PayoutRecord>> {
  const found = new Map<bigint, PayoutRecord>();
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000).map((id) => id.toString());
    const rows = (await db('payout').select(COLUMNS).whereIn('id', chunk)) as PayoutRow[];
    for (const r of rows) found.set(BigInt(r.id), toPayoutRecord(r));
  }
  return found;
}
