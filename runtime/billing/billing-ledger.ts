import type { Knex } from 'knex';
import { escape } from 'mysql2';
import { IdCollisionError } from '../ids/id-errors';
import { ConcurrentWriteError, LedgerWriteAlteredError } from './billing-errors';
import { isDuplicateKey } from '../db/duplicate-key';
import { bulkLoad, tsvField } from '../db/bulk-load';
import { assertBillingItemsFit } from '../db/column-fit';
import { IN_LIST_MAX, int64Literal, intList } from '../db/int-list';
import { itemAmountProblem } from '../money/money-bounds';
import { BalanceIncrements } from './balance-increments';
import type { BillingItemInput, RefusedItem } from './billing-item';

export type { BillingItemInput, RefusalCode, RefusedItem } from './billing-item';
export { BalanceIncrements } from './balance-increments';

/**
 * The one module that writes billing items and the running balances they feed. Upload ingestion,
 * settlement aggregation and commission all write through it, so "an item counts once" is
 * enforced in one place:
 *   1. items are bulk-written (LOAD DATA, or multi-row INSERT where the server refuses it); the
 *      items the unique key (region, source, source_ref) turns away are compared with the rows
 *      that hold their keys: identical content is a duplicate (skipped), different content is a
 *      conflict (the caller rejects it);
 *   2. a key turned away that this transaction cannot see was committed by a concurrent writer;
 *      that error is retriable, so the batch reruns and step 1 sees the row;
 *   3. settlement_account is incremented for exactly the rows inserted, in the same transaction:
 *      at once, or, when the caller passes a BalanceIncrements, once for the whole transaction
 *      when it calls apply() (a batch of many appends then upserts each account once).
 * Money bounds (runtime/money/money-bounds.ts) hold here, item by item, never by failing the
 * batch: an item beyond its currency's item bound, or one that would move its account's balance
 * further out past the payout bound, is refused with a reason (AppendResult.refused) and leaves
 * no trace; the other items of the batch still apply. So every balance, and so every payout,
 * stays representable in each later step (a BIGINT upsert, an 18-digit pain.001 amount) and a
 * close can never half-finish on an amount.
 * Must run inside the caller's transaction.
 */

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
  /** Not booked because of a money bound; nothing of them was written. */
  refused: RefusedItem[];
}

/** Items per write and per key lookup: a chunk of an upload, well under the 16 MiB packet limit. */
const CHUNK = 5000;

export interface AppendOptions {
  /**
   * Collects the balance increments instead of writing them; the caller must call apply() on it in
   * the same transaction, after its last append. Fewer upserts when one transaction appends
   * several times for the same sellers (upload ingestion: several chunks of one partition).
   */
  balances?: BalanceIncrements;
  /**
   * Items that must be booked whatever the bounds: a carried-forward balance is money already
   * owed, and refusing it would lose it. They are never refused; a balance they would take past
   * a signed 64-bit integer fails the batch with STS_BALANCE_OVERFLOW instead.
   */
  mandatory?: boolean;
}

export async function appendBillingItems(
  trx: Knex.Transaction,
  allItems: BillingItemInput[],
  opts: AppendOptions = {},
): Promise<AppendResult> {
  const result: AppendResult = { inserted: [], duplicates: [], conflicts: [], refused: [] };
  if (allItems.length === 0) return result;

  // An item beyond the item bound is refused before anything is written. One comparison per
  // item; the list is copied only when one is refused.
  let items = allItems;
  if (!opts.mandatory) {
    for (let i = 0; i < allItems.length; i++) {
      const it = allItems[i]!;
      const problem = itemAmountProblem(it.currency, it.amountMinor);
      if (problem === null) continue;
      if (items === allItems) items = allItems.slice(0, i);
      result.refused.push({ item: it, code: 'AMOUNT_OUT_OF_BOUNDS', reason: problem });
    }
    if (items !== allItems) {
      const refused = new Set(result.refused.map((r) => r.item));
      items = allItems.filter((it) => !refused.has(it));
    }
  }
  if (items.length === 0) return result;

  // A key repeated later in this batch is judged against its first occurrence, exactly as if that
  // one had committed first.
  const firsts = new FirstByKey();
  const unique: BillingItemInput[] = [];
  const repeats: BillingItemInput[] = [];
  for (const item of items) {
    if (firsts.claim(item) === item) unique.push(item);
    else repeats.push(item);
  }

  const stored = new Map<string, ExistingItem>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const slice = unique.slice(i, i + CHUNK);
    // Optimistic: new keys are the common case, so write first and look only at what the unique
    // key turned away.
    const { skipped, existing: known } = await insertFreeKeys(trx, slice);
    if (skipped.size === 0) {
      result.inserted.push(...slice);
      continue;
    }
    const existing = known ?? (await findExisting(trx, [...skipped]));
    for (const item of slice) {
      if (!skipped.has(item)) {
        result.inserted.push(item);
        continue;
      }
      const k = keyOf(item.region, item.source, item.sourceRef);
      const prior = existing.get(k);
      // Turned away, yet its key is not in this transaction's snapshot: either its id is taken by
      // another row (LOAD DATA skips that too), or another transaction committed the key
      // meanwhile, and rerunning the batch finds it in the first place it looks.
      if (!prior) {
        const collided = await takenIds(trx, [item]);
        if (collided.length > 0)
          throw new IdCollisionError(
            'billing_item',
            `id ${item.id} (${item.region}/${item.source}/${item.sourceRef}) is held by another item`,
          );
        throw concurrentWrite();
      }
      stored.set(k, prior);
      if (sameContent(item, prior)) result.duplicates.push(item);
      else result.conflicts.push({ item, existing: prior });
    }
  }

  for (const item of repeats) {
    const k = keyOf(item.region, item.source, item.sourceRef);
    const prior = stored.get(k) ?? asExisting(firsts.claim(item));
    if (sameContent(item, prior)) result.duplicates.push(item);
    else result.conflicts.push({ item, existing: prior });
  }

  let refused: RefusedItem[];
  if (opts.balances)
    refused = await opts.balances.admit(trx, result.inserted, opts.mandatory === true);
  else if (opts.mandatory) {
    const balances = new BalanceIncrements();
    refused = await balances.admit(trx, result.inserted, true);
    await balances.apply(trx);
  } else refused = await new BalanceIncrements().admitAndApply(trx, result.inserted);
  if (refused.length > 0) await unbook(trx, result, refused);
  return result;
}

/**
 * Takes the refused items back out: their rows were written with the batch (only then is it
 * known which items are new rather than duplicates), so they are deleted again in the same
 * transaction; nobody else ever saw them. A repeat of a refused key in the batch, judged a
 * duplicate of it, is refused with it. The rare path, so the plain statements do.
 */
async function unbook(
  trx: Knex.Transaction,
  result: AppendResult,
  refused: RefusedItem[],
): Promise<void> {
  const gone = new Map(refused.map((r) => [r.item, r]));
  for (let i = 0; i < refused.length; i += IN_LIST_MAX) {
    await trx.raw(
      `DELETE FROM billing_item WHERE id IN (${intList(refused.slice(i, i + IN_LIST_MAX).map((r) => r.item.id))})`,
    );
  }
  result.inserted = result.inserted.filter((it) => !gone.has(it));
  const byKey = new Map(
    refused.map((r) => [keyOf(r.item.region, r.item.source, r.item.sourceRef), r]),
  );
  result.duplicates = result.duplicates.filter((it) => {
    const first = byKey.get(keyOf(it.region, it.source, it.sourceRef));
    if (!first) return true;
    result.refused.push({ item: it, code: first.code, reason: first.reason });
    return false;
  });
  result.refused.push(...refused);
}

const COLUMNS = [
  'id',
  'region',
  'shop_user_id',
  'currency',
  'amount_minor',
  'item_type',
  'source',
  'source_ref',
  'order_id',
  'cycle_id',
  'late',
  'memo',
] as const;

/**
 * Where an item came from (migration 0018): an order event's Kafka coordinates, an upload's row.
 * Written only by the writers that carry them, so an upload's bulk load adds two fields per row
 * and commission or the close add none.
 */
const EVENT_COLUMNS = ['event_topic', 'event_partition', 'event_offset'] as const;
const UPLOAD_COLUMNS = ['upload_id', 'upload_row'] as const;

interface OriginColumns {
  event: boolean;
  upload: boolean;
  names: readonly string[];
}

function originColumnsOf(items: BillingItemInput[]): OriginColumns {
  let event = false;
  let upload = false;
  for (const it of items) {
    if (it.eventTopic !== undefined) event = true;
    if (it.uploadId !== undefined) upload = true;
    if (event && upload) break;
  }
  return { event, upload, names: [...COLUMNS, ...(event ? EVENT_COLUMNS : []), ...(upload ? UPLOAD_COLUMNS : [])] };
}

const nullableInt = (n: bigint | number | undefined, nul: string): string =>
  n === undefined ? nul : typeof n === 'number' ? String(Math.trunc(n)) : int64Literal(n);

/**
 * Writes the items whose unique key is free and returns those it turned away because the key was
 * taken. LOAD DATA where the server allows it (runtime/db/bulk-load.ts): it skips a taken key
 * row by row, so what was skipped is read back by id. Otherwise multi-row INSERT, which is all or
 * nothing: on a taken key, the rows holding the keys are read, the free items inserted alone, and
 * the rows read are returned too, so the caller need not read them again.
 */
async function insertFreeKeys(
  trx: Knex.Transaction,
  items: BillingItemInput[],
): Promise<{ skipped: Set<BillingItemInput>; existing?: Map<string, ExistingItem> }> {
  assertBillingItemsFit(items);
  const origin = originColumnsOf(items);
  const load = await bulkLoad(trx, 'billing_item', origin.names, tsvOf(items, origin));
  if (load !== null) {
    let skipped = new Set<BillingItemInput>();
    if (load.affectedRows < items.length) {
      // Written means a row with the item's id AND its key: an item whose id another item's row
      // holds (an id minted twice) is skipped too, and the caller then finds it is no duplicate.
      const written = new Set<string>();
      for (let i = 0; i < items.length; i += IN_LIST_MAX) {
        const ids = intList(items.slice(i, i + IN_LIST_MAX).map((it) => it.id));
        const [rows] = (await trx.raw(
          `SELECT id, region, source, source_ref FROM billing_item FORCE INDEX (PRIMARY) WHERE id IN (${ids})`,
        )) as [Array<{ id: string; region: string; source: string; source_ref: string }>];
        for (const r of rows)
          written.add(`${r.id}\u0000${keyOf(r.region, r.source, r.source_ref)}`);
      }
      skipped = new Set(
        items.filter(
          (it) => !written.has(`${it.id}\u0000${keyOf(it.region, it.source, it.sourceRef)}`),
        ),
      );
    }
    // One warning per skipped row. Any other means the server changed a value to fit a column:
    // fail the batch rather than book an amount or a key other than the one given.
    if (load.warnings !== skipped.size) {
      throw new LedgerWriteAlteredError(
        items.length,
        load.warnings,
        skipped.size,
        load.warningSamples,
      );
    }
    return { skipped };
  }
  if (await tryInsert(trx, items, origin)) return { skipped: new Set() };
  const existing = await findExisting(trx, items);
  const taken = new Set(
    items.filter((it) => existing.has(keyOf(it.region, it.source, it.sourceRef))),
  );
  const fresh = items.filter((it) => !taken.has(it));
  // Not there when read, there now: committed by a concurrent writer.
  if (fresh.length > 0 && !(await tryInsert(trx, fresh, origin))) throw concurrentWrite();
  return { skipped: taken, existing };
}

/** Retriable: the batch reruns and then finds the key where it first looks. */
const concurrentWrite = () =>
  new ConcurrentWriteError('a billing item key was inserted concurrently; retrying the batch');

/** The items as LOAD DATA rows, in the order of `origin.names`. */
function tsvOf(items: BillingItemInput[], origin: OriginColumns): string {
  let text = '';
  for (const it of items) {
    text +=
      `${int64Literal(it.id)}\t${tsvField(it.region)}\t${int64Literal(it.shopUserId)}\t${tsvField(it.currency)}\t${int64Literal(it.amountMinor)}\t${tsvField(it.itemType)}\t` +
      `${tsvField(it.source)}\t${tsvField(it.sourceRef)}\t${it.orderId == null ? '\\N' : int64Literal(it.orderId)}\t${int64Literal(it.cycleId)}\t${it.late ? 1 : 0}\t${tsvField(it.memo ?? null)}`;
    if (origin.event)
      text += `\t${tsvField(it.eventTopic ?? null)}\t${nullableInt(it.eventPartition, '\\N')}\t${nullableInt(it.eventOffset, '\\N')}`;
    if (origin.upload) text += `\t${nullableInt(it.uploadId, '\\N')}\t${nullableInt(it.uploadRow, '\\N')}`;
    text += '\n';
  }
  return text;
}

/** One multi-row INSERT; false if a unique key already holds one of the rows (nothing inserted). */
async function tryInsert(trx: Knex.Transaction, items: BillingItemInput[], origin: OriginColumns): Promise<boolean> {
  // The statement text is built here rather than by knex's insert builder and mysql2's placeholder
  // formatting of 12 bindings a row: those two were about 1 s of CPU per 200k uploaded rows, a
  // fifth of the ingestion process. Integers go in as integer literals
  // (typed: docs/DESIGN.md, lesson 9), text through mysql2's own escape(), the function its
  // placeholder formatting applies.
  const values = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    values[i] =
      `(${int64Literal(it.id)},${escape(it.region)},${int64Literal(it.shopUserId)},${escape(it.currency)},${int64Literal(it.amountMinor)},${escape(it.itemType)},` +
      `${escape(it.source)},${escape(it.sourceRef)},${it.orderId == null ? 'NULL' : int64Literal(it.orderId)},${int64Literal(it.cycleId)},${it.late ? 1 : 0},${it.memo == null ? 'NULL' : escape(it.memo)}` +
      (origin.event ? `,${it.eventTopic === undefined ? 'NULL' : escape(it.eventTopic)},${nullableInt(it.eventPartition, 'NULL')},${nullableInt(it.eventOffset, 'NULL')}` : '') +
      (origin.upload ? `,${nullableInt(it.uploadId, 'NULL')},${nullableInt(it.uploadRow, 'NULL')}` : '') +
      ')';
  }
  try {
    await trx.raw(`INSERT INTO billing_item (${origin.names.join(', ')}) VALUES ${values.join(',')}`);
    return true;
  } catch (err) {
    // Only the business key means "already booked". A taken id is another fact altogether (two
    // items minted one id) and must never pass for a redelivery.
    if (isDuplicateKey(err, 'uq_billing_item_source')) return false;
    if (isDuplicateKey(err, 'PRIMARY'))
      throw new IdCollisionError('billing_item', (err as Error).message, err);
    throw err;
  }
}

/**
 * The items whose id some row already holds, read when a write turned items away that their
 * business key does not explain. Ids of this batch only, so the read is by primary key.
 */
async function takenIds(
  trx: Knex.Transaction,
  items: BillingItemInput[],
): Promise<BillingItemInput[]> {
  const taken = new Set<bigint>();
  for (let i = 0; i < items.length; i += IN_LIST_MAX) {
    const ids = intList(items.slice(i, i + IN_LIST_MAX).map((it) => it.id));
    const [rows] = (await trx.raw(
      `SELECT id FROM billing_item FORCE INDEX (PRIMARY) WHERE id IN (${ids})`,
    )) as [Array<{ id: string }>];
    for (const r of rows) taken.add(BigInt(r.id));
  }
  return items.filter((it) => taken.has(it.id));
}

/** A signed 64-bit integer as an SQL literal; anything else never reaches the statement. */

async function findExisting(
  trx: Knex.Transaction,
  items: BillingItemInput[],
): Promise<Map<string, ExistingItem>> {
  const groups = new Map<string, { region: string; source: string; refs: string[] }>();
  for (const it of items) {
    const g = `${it.region}\u0000${it.source}`;
    const group = groups.get(g) ?? { region: it.region, source: it.source, refs: [] };
    group.refs.push(it.sourceRef);
    groups.set(g, group);
  }
  const found = new Map<string, ExistingItem>();
  for (const { region, source, refs } of groups.values()) {
    for (let i = 0; i < refs.length; i += IN_LIST_MAX) {
      // Typed string parameters against VARCHAR columns keep uq_billing_item_source usable.
      const rows = (await trx
        .from(trx.raw('billing_item FORCE INDEX (uq_billing_item_source)'))
        .select(
          'region',
          'source',
          'source_ref',
          'shop_user_id',
          'currency',
          'amount_minor',
          'item_type',
        )
        .where({ region, source })
        .whereIn('source_ref', refs.slice(i, i + IN_LIST_MAX))) as ExistingItem[];
      for (const r of rows) found.set(keyOf(r.region, r.source, r.source_ref), r);
    }
  }
  return found;
}

/**
 * The first item seen for each (region, source, source_ref). Grouped by region and source, then
 * keyed by the ref itself: a batch is nearly always one group, so no key string is built per item.
 */
class FirstByKey {
  private readonly groups = new Map<string, Map<string, BillingItemInput>>();
  private last: { region: string; source: string; refs: Map<string, BillingItemInput> } | undefined;

  /** The earlier item with this item's key, or the item itself if it is the first. */
  claim(item: BillingItemInput): BillingItemInput {
    const refs = this.refsOf(item.region, item.source);
    const first = refs.get(item.sourceRef);
    if (first) return first;
    refs.set(item.sourceRef, item);
    return item;
  }

  private refsOf(region: string, source: string): Map<string, BillingItemInput> {
    if (this.last?.region === region && this.last.source === source) return this.last.refs;
    const group = `${region}\u0000${source}`;
    let refs = this.groups.get(group);
    if (!refs) this.groups.set(group, (refs = new Map()));
    this.last = { region, source, refs };
    return refs;
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

const keyOf = (region: string, source: string, ref: string) =>
  `${region}\u0000${source}\u0000${ref}`;
