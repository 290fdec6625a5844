import type { Knex } from 'knex';
import { escape } from 'mysql2';
import { StsError } from '../errors';

/**
 * The one module that writes billing items and the running balances they feed. Upload ingestion,
 * settlement aggregation and commission all write through it, so "an item counts once" is
 * enforced in one place:
 *   1. items are bulk-inserted; where the unique key (region, source, source_ref) objects, the
 *      existing rows are read and the items split: identical content is a duplicate (skipped),
 *      different content is a conflict (the caller rejects it), and the rest are inserted;
 *   2. a key that was absent when read but present at the second insert was committed by a
 *      concurrent writer; that error is retriable, so the batch reruns and step 1 sees the row;
 *   3. settlement_account is incremented for exactly the rows inserted, in the same transaction:
 *      at once, or, when the caller passes a BalanceIncrements, once for the whole transaction
 *      when it calls apply() (a batch of many appends then upserts each account once).
 * Must run inside the caller's transaction.
 */

export interface BillingItemInput {
  id: bigint;
  region: string;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  itemType: string;
  source: string;
  sourceRef: string;
  orderId?: bigint | null;
  cycleId: bigint;
  late?: boolean;
  memo?: string | null;
}

export interface ExistingItem {
  region: string;
  source: string;
  source_ref: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  item_type: string;
}

export interface AppendResult {
  inserted: BillingItemInput[];
  duplicates: BillingItemInput[];
  conflicts: Array<{ item: BillingItemInput; existing: ExistingItem }>;
}

const CHUNK = 1000;

export interface AppendOptions {
  /**
   * Collects the balance increments instead of writing them; the caller must call apply() on it in
   * the same transaction, after its last append. Fewer upserts when one transaction appends
   * several times for the same sellers (upload ingestion: several chunks of one partition).
   */
  balances?: BalanceIncrements;
}

export async function appendBillingItems(trx: Knex.Transaction, items: BillingItemInput[], opts: AppendOptions = {}): Promise<AppendResult> {
  const result: AppendResult = { inserted: [], duplicates: [], conflicts: [] };
  if (items.length === 0) return result;

  // A key repeated later in this batch is judged against its first occurrence, exactly as if that
  // one had committed first.
  const firsts = new Map<string, BillingItemInput>();
  const unique: BillingItemInput[] = [];
  const repeats: BillingItemInput[] = [];
  for (const item of items) {
    const k = keyOf(item.region, item.source, item.sourceRef);
    if (firsts.has(k)) repeats.push(item);
    else {
      firsts.set(k, item);
      unique.push(item);
    }
  }

  const stored = new Map<string, ExistingItem>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const slice = unique.slice(i, i + CHUNK);
    // Optimistic: new keys are the common case, so insert first and look only when the unique key
    // objects. A failed INSERT is rolled back alone; the transaction goes on.
    if (await tryInsert(trx, slice)) {
      result.inserted.push(...slice);
      continue;
    }
    const existing = await findExisting(trx, slice);
    const fresh: BillingItemInput[] = [];
    for (const item of slice) {
      const prior = existing.get(keyOf(item.region, item.source, item.sourceRef));
      if (!prior) fresh.push(item);
      else {
        stored.set(keyOf(item.region, item.source, item.sourceRef), prior);
        if (sameContent(item, prior)) result.duplicates.push(item);
        else result.conflicts.push({ item, existing: prior });
      }
    }
    if (fresh.length > 0 && !(await tryInsert(trx, fresh))) {
      // Not there when we looked, there now: another transaction committed it meanwhile. Rerunning
      // the batch finds it in the first place it looks.
      throw new StsError('STS_CONCURRENT_WRITE', 'a billing item key was inserted concurrently; retrying the batch', { retriable: true });
    }
    result.inserted.push(...fresh);
  }

  for (const item of repeats) {
    const k = keyOf(item.region, item.source, item.sourceRef);
    const prior = stored.get(k) ?? asExisting(firsts.get(k)!);
    if (sameContent(item, prior)) result.duplicates.push(item);
    else result.conflicts.push({ item, existing: prior });
  }
  if (opts.balances) opts.balances.add(result.inserted);
  else await new BalanceIncrements().add(result.inserted).apply(trx);
  return result;
}

/** One multi-row INSERT; false if a unique key already holds one of the rows (nothing inserted). */
async function tryInsert(trx: Knex.Transaction, items: BillingItemInput[]): Promise<boolean> {
  // The statement text is built here rather than by knex's insert builder and mysql2's placeholder
  // formatting of 12 bindings a row: those two were about 1 s of CPU per 200k uploaded rows, a
  // fifth of the ingestion process. Integers go in as integer literals (typed, DESIGN lesson 9),
  // text through mysql2's own escape(), the function its placeholder formatting applies.
  const values = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    values[i] =
      `(${int64(it.id)},${escape(it.region)},${int64(it.shopUserId)},${escape(it.currency)},${int64(it.amountMinor)},${escape(it.itemType)},` +
      `${escape(it.source)},${escape(it.sourceRef)},${it.orderId == null ? 'NULL' : int64(it.orderId)},${int64(it.cycleId)},${it.late ? 1 : 0},${it.memo == null ? 'NULL' : escape(it.memo)})`;
  }
  try {
    await trx.raw(`INSERT INTO billing_item (id, region, shop_user_id, currency, amount_minor, item_type, source, source_ref, order_id, cycle_id, late, memo) VALUES ${values.join(',')}`);
    return true;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1062) return false;
    throw err;
  }
}

/** A signed 64-bit integer as an SQL literal; anything else never reaches the statement. */
function int64(n: bigint): string {
  if (typeof n !== 'bigint' || BigInt.asIntN(64, n) !== n) throw new RangeError(`${String(n)} is not a signed 64-bit integer`);
  return n.toString();
}

async function findExisting(trx: Knex.Transaction, items: BillingItemInput[]): Promise<Map<string, ExistingItem>> {
  const groups = new Map<string, { region: string; source: string; refs: string[] }>();
  for (const it of items) {
    const g = `${it.region}\u0000${it.source}`;
    const group = groups.get(g) ?? { region: it.region, source: it.source, refs: [] };
    group.refs.push(it.sourceRef);
    groups.set(g, group);
  }
  const found = new Map<string, ExistingItem>();
  for (const { region, source, refs } of groups.values()) {
    for (let i = 0; i < refs.length; i += CHUNK) {
      // Typed string parameters against VARCHAR columns keep uq_billing_item_source usable.
      const rows = (await trx('billing_item')
        .select('region', 'source', 'source_ref', 'shop_user_id', 'currency', 'amount_minor', 'item_type')
        .where({ region, source })
        .whereIn('source_ref', refs.slice(i, i + CHUNK))) as ExistingItem[];
      for (const r of rows) found.set(keyOf(r.region, r.source, r.source_ref), r);
    }
  }
  return found;
}

/**
 * Increments of settlement_account per (region, seller, currency, cycle), summed in memory and
 * written by apply() as multi-row upserts. Write only the increments of items actually inserted,
 * and apply once per transaction: a second apply() writes nothing.
 */
export class BalanceIncrements {
  private sums = new Map<string, { region: string; shop: bigint; currency: string; cycle: bigint; amount: bigint; count: bigint }>();

  add(items: BillingItemInput[]): this {
    for (const it of items) {
      const k = `${it.region}|${it.shopUserId}|${it.currency}|${it.cycleId}`;
      const s = this.sums.get(k);
      if (s) {
        s.amount += it.amountMinor;
        s.count += 1n;
      } else this.sums.set(k, { region: it.region, shop: it.shopUserId, currency: it.currency, cycle: it.cycleId, amount: it.amountMinor, count: 1n });
    }
    return this;
  }

  async apply(trx: Knex.Transaction): Promise<void> {
    // Primary-key order, so concurrent batches lock accounts in the same order and cannot deadlock
    // on each other as often.
    const rows = [...this.sums.values()].sort((a, b) => (a.region === b.region ? (a.shop < b.shop ? -1 : a.shop > b.shop ? 1 : 0) : a.region < b.region ? -1 : 1));
    this.sums = new Map();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const values = chunk.map((r) => `(${escape(r.region)},${int64(r.shop)},${escape(r.currency)},${int64(r.cycle)},${int64(r.amount)},${int64(r.count)})`).join(',');
      await trx.raw(
        `INSERT INTO settlement_account (region, shop_user_id, currency, cycle_id, balance_minor, item_count) VALUES ${values}
         ON DUPLICATE KEY UPDATE balance_minor = balance_minor + VALUES(balance_minor), item_count = item_count + VALUES(item_count), updated_at = CURRENT_TIMESTAMP(3)`,
      );
    }
  }
}

function sameContent(item: BillingItemInput, prior: ExistingItem): boolean {
  return (
    prior.shop_user_id === item.shopUserId.toString() &&
    prior.currency === item.currency &&
    prior.amount_minor === item.amountMinor.toString() &&
    prior.item_type === item.itemType
  );
}

function asExisting(it: BillingItemInput): ExistingItem {
  return {
    region: it.region,
    source: it.source,
    source_ref: it.sourceRef,
    shop_user_id: it.shopUserId.toString(),
    currency: it.currency,
    amount_minor: it.amountMinor.toString(),
    item_type: it.itemType,
  };
}

const keyOf = (region: string, source: string, ref: string) => `${region}\u0000${source}\u0000${ref}`;
