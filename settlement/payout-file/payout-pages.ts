import type { Knex } from 'knex';
import { PAIN001_MAX_MINOR } from '../../runtime/money/money-bounds';
import type { PayoutFileKey, PayoutLine } from './pain001-writer';

/**
 * Which payouts a file holds, and how they are read: in pages, so a region with a million
 * payouts never has more than one page in memory.
 *
 * A payout is in its cycle's file once it exists and is not held back: PENDING, and also
 * SUBMITTED, PAID and FAILED, because those are later states of a payout that was PENDING when
 * the file was first written. Leaving them out would change the file's bytes as payouts get
 * paid, and a released file must never change. ON_HOLD and CARRIED_FORWARD are not paid in this
 * cycle, so they are not in its file; nor is a held payout an operator releases later (its
 * hold_decided_at is set): it goes out on its rail after the file was written.
 *
 * Pages use keyset pagination (`id > last ORDER BY id LIMIT n`), not OFFSET, so each page costs
 * the same however deep into the cycle it is; ix_payout_file_page serves it in index order.
 * Parameters are bound as decimal strings against BIGINT columns: exact, and the index stays
 * usable (docs/DESIGN.md, lessons 8 and 9; test/settlement/payout-file checks the plan with EXPLAIN).
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
    .whereNull('hold_decided_at')
    .groupBy('currency')
    .orderBy('currency')) as Array<{ currency: string; n: string | number; total: string | null }>;
  // SUM over BIGINT is DECIMAL, returned as a string: exact, whatever the total.
  return rows.map((r) => ({
    currency: r.currency,
    nbOfTxs: Number(r.n),
    ctrlSumMinor: BigInt(r.total ?? '0'),
  }));
}

/** The ids one file holds: above `afterId`, up to `lastId` when given (a part's last payout). */
export interface IdRange {
  afterId: bigint;
  lastId?: bigint;
}

export const WHOLE_RANGE: IdRange = Object.freeze({ afterId: 0n });

/** The keyset page query, exported so a test can EXPLAIN it. */
export function payablePageQuery(
  db: Knex,
  key: PayoutFileKey,
  afterId: bigint,
  limit: number,
  lastId?: bigint,
): Knex.QueryBuilder {
  const q = db('payout')
    .select(COLUMNS)
    .where({ region: key.region, cycle_id: key.cycleId.toString(), currency: key.currency })
    .where('id', '>', afterId.toString());
  if (lastId !== undefined) q.where('id', '<=', lastId.toString());
  return q.whereIn('status', PAYABLE_STATUSES).whereNull('hold_decided_at').orderBy('id').limit(limit);
}

/** The payable payouts of one file (or of its id range), in id order, a page at a time. */
export async function* payablePages(
  db: Knex,
  key: PayoutFileKey,
  pageSize = PAGE_SIZE,
  range: IdRange = WHOLE_RANGE,
): AsyncGenerator<PayoutRecord[]> {
  let after = range.afterId;
  for (;;) {
    const rows = (await payablePageQuery(db, key, after, pageSize, range.lastId)) as PayoutRow[];
    if (rows.length === 0) return;
    const page = rows.map(toPayoutRecord);
    yield page;
    after = page[page.length - 1]!.id;
    if (rows.length < pageSize) return;
  }
}

/** One file of a currency: its key (with `part` when split), its totals and its id range. */
export interface PayoutFilePart extends PayableGroup {
  key: PayoutFileKey;
  range: IdRange;
}

/**
 * The files a currency's payable payouts go into. One, as always, while their total fits a
 * CtrlSum (at most PAIN001_MAX_MINOR, the 18 digits of ISO 20022's DecimalNumber). Past that,
 * several parts, cut in id order: a part takes each next payout while its CtrlSum stays within
 * the limit, and a new part starts before it would pass it. A payout is at most the payout bound
 * (runtime/money/money-bounds.ts), well under the limit, so every part holds at least one. The
 * cut is a function of the payable payouts alone, which a close fixes once, so regenerating or
 * verifying a part finds the same ids and the same bytes. Costs one extra walk over the ids and
 * amounts, and only for a currency that needs it.
 */
export async function payableParts(
  db: Knex,
  region: string,
  cycleId: bigint,
  group: PayableGroup,
  pageSize = PAGE_SIZE,
): Promise<PayoutFilePart[]> {
  const whole: PayoutFileKey = { region, cycleId, currency: group.currency };
  if (group.ctrlSumMinor <= PAIN001_MAX_MINOR)
    return [{ ...group, key: whole, range: WHOLE_RANGE }];
  const parts: PayoutFilePart[] = [];
  let current: PayoutFilePart | undefined;
  let lastId = 0n;
  for await (const page of payablePages(db, whole, pageSize)) {
    for (const p of page) {
      if (!current || current.ctrlSumMinor + p.amountMinor > PAIN001_MAX_MINOR) {
        if (current) current.range = { afterId: current.range.afterId, lastId };
        current = {
          currency: group.currency,
          nbOfTxs: 0,
          ctrlSumMinor: 0n,
          key: { ...whole, part: parts.length + 1 },
          range: { afterId: lastId },
        };
        parts.push(current);
      }
      current.nbOfTxs++;
      current.ctrlSumMinor += p.amountMinor;
      lastId = p.id;
    }
  }
  if (current) current.range = { afterId: current.range.afterId, lastId };
  return parts;
}

/**
 * The id range of the file `key` names, from the database as it is now: the whole currency for a
 * key without a part; for part n, the nth cut of payableParts, or an empty range when there is
 * no such part.
 */
export async function payableRangeOf(db: Knex, key: PayoutFileKey): Promise<IdRange> {
  if (key.part === undefined) return WHOLE_RANGE;
  const group = (await payableGroups(db, key.region, key.cycleId)).find(
    (g) => g.currency === key.currency,
  );
  const part = group && (await payableParts(db, key.region, key.cycleId, group))[key.part - 1];
  return part?.key.part === key.part ? part.range : { afterId: 0n, lastId: 0n };
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

/** The payout_file row of a file: part 0 is the one file of a currency that is not split. */
export function fileRowKey(key: PayoutFileKey): {
  region: string;
  cycle_id: string;
  currency: string;
  part: number;
} {
  return {
    region: key.region,
    cycle_id: key.cycleId.toString(),
    currency: key.currency,
    part: key.part ?? 0,
  };
}
