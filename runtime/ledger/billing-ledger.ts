import type { Knex } from 'knex';
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
 *   3. settlement_account is incremented for exactly the rows inserted, in the same transaction.
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

export async function appendBillingItems(trx: Knex.Transaction, items: BillingItemInput[]): Promise<AppendResult> {
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
  await incrementAccounts(trx, result.inserted);
  return result;
}

/** One multi-row INSERT; false if a unique key already holds one of the rows (nothing inserted). */
async function tryInsert(trx: Knex.Transaction, items: BillingItemInput[]): Promise<boolean> {
  const rows = items.map((it) => ({
    id: it.id.toString(),
    region: it.region,
    shop_user_id: it.shopUserId.toString(),
    currency: it.currency,
    amount_minor: it.amountMinor.toString(),
    item_type: it.itemType,
    source: it.source,
    source_ref: it.sourceRef,
    order_id: it.orderId == null ? null : it.orderId.toString(),
    cycle_id: it.cycleId.toString(),
    late: it.late ?? false,
    memo: it.memo ?? null,
  }));
  try {
    await trx('billing_item').insert(rows);
    return true;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1062) return false;
    throw err;
  }
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

async function incrementAccounts(trx: Knex.Transaction, items: BillingItemInput[]): Promise<void> {
  const sums = new Map<string, { region: string; shop: bigint; currency: string; cycle: bigint; amount: bigint; count: bigint }>();
  for (const it of items) {
    const k = `${it.region}|${it.shopUserId}|${it.currency}|${it.cycleId}`;
    const s = sums.get(k) ?? { region: it.region, shop: it.shopUserId, currency: it.currency, cycle: it.cycleId, amount: 0n, count: 0n };
    s.amount += it.amountMinor;
    s.count += 1n;
    sums.set(k, s);
  }
  // Primary-key order, so concurrent batches lock accounts in the same order and cannot deadlock
  // on each other as often.
  const rows = [...sums.values()].sort((a, b) => (a.region === b.region ? (a.shop < b.shop ? -1 : a.shop > b.shop ? 1 : 0) : a.region < b.region ? -1 : 1));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const values = chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
    const bindings = chunk.flatMap((r) => [r.region, r.shop.toString(), r.currency, r.cycle.toString(), r.amount.toString(), r.count.toString()]);
    await trx.raw(
      `INSERT INTO settlement_account (region, shop_user_id, currency, cycle_id, balance_minor, item_count) VALUES ${values}
       ON DUPLICATE KEY UPDATE balance_minor = balance_minor + VALUES(balance_minor), item_count = item_count + VALUES(item_count), updated_at = CURRENT_TIMESTAMP(3)`,
      bindings,
    );
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
