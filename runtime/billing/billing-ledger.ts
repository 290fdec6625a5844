import type { Knex } from 'knex';
import { escape } from 'mysql2';
import {
  BalanceGuardMissedError,
  BalanceOverflowError,
  ConcurrentWriteError,
  IdCollisionError,
  LedgerWriteAlteredError,
} from '../errors';
import { isDuplicateKey } from '../db/duplicate-key';
import { bulkLoad, tsvField } from '../db/bulk-load';
import { assertBillingItemsFit } from '../db/column-fit';
import { IN_LIST_MAX, intList } from '../db/int-list';
import { INT64_MAX, itemAmountProblem, moneyBounds } from '../money/money-bounds';

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
  /** Not booked because of a money bound; nothing of them was written. */
  refused: RefusedItem[];
}

/** Stable reason codes: upload rejects and dead letters carry them. */
export type RefusalCode = 'AMOUNT_OUT_OF_BOUNDS' | 'BALANCE_LIMIT';

export interface RefusedItem {
  item: BillingItemInput;
  code: RefusalCode;
  reason: string;
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
  const load = await bulkLoad(trx, 'billing_item', COLUMNS, tsvOf(items));
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
  if (await tryInsert(trx, items)) return { skipped: new Set() };
  const existing = await findExisting(trx, items);
  const taken = new Set(
    items.filter((it) => existing.has(keyOf(it.region, it.source, it.sourceRef))),
  );
  const fresh = items.filter((it) => !taken.has(it));
  // Not there when read, there now: committed by a concurrent writer.
  if (fresh.length > 0 && !(await tryInsert(trx, fresh))) throw concurrentWrite();
  return { skipped: taken, existing };
}

/** Retriable: the batch reruns and then finds the key where it first looks. */
const concurrentWrite = () =>
  new ConcurrentWriteError('a billing item key was inserted concurrently; retrying the batch');

/** The items as LOAD DATA rows, in COLUMNS order. */
function tsvOf(items: BillingItemInput[]): string {
  let text = '';
  for (const it of items) {
    text +=
      `${int64(it.id)}\t${tsvField(it.region)}\t${int64(it.shopUserId)}\t${tsvField(it.currency)}\t${int64(it.amountMinor)}\t${tsvField(it.itemType)}\t` +
      `${tsvField(it.source)}\t${tsvField(it.sourceRef)}\t${it.orderId == null ? '\\N' : int64(it.orderId)}\t${int64(it.cycleId)}\t${it.late ? 1 : 0}\t${tsvField(it.memo ?? null)}\n`;
  }
  return text;
}

/** One multi-row INSERT; false if a unique key already holds one of the rows (nothing inserted). */
async function tryInsert(trx: Knex.Transaction, items: BillingItemInput[]): Promise<boolean> {
  // The statement text is built here rather than by knex's insert builder and mysql2's placeholder
  // formatting of 12 bindings a row: those two were about 1 s of CPU per 200k uploaded rows, a
  // fifth of the ingestion process. Integers go in as integer literals
  // (typed: docs/DESIGN.md, lesson 9), text through mysql2's own escape(), the function its
  // placeholder formatting applies.
  const values = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    values[i] =
      `(${int64(it.id)},${escape(it.region)},${int64(it.shopUserId)},${escape(it.currency)},${int64(it.amountMinor)},${escape(it.itemType)},` +
      `${escape(it.source)},${escape(it.sourceRef)},${it.orderId == null ? 'NULL' : int64(it.orderId)},${int64(it.cycleId)},${it.late ? 1 : 0},${it.memo == null ? 'NULL' : escape(it.memo)})`;
  }
  try {
    await trx.raw(`INSERT INTO billing_item (${COLUMNS.join(', ')}) VALUES ${values.join(',')}`);
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
function int64(n: bigint): string {
  // Compared, not BigInt.asIntN(64, n) === n: that allocates a BigInt for each of the five ids
  // and amounts of every item written.
  if (typeof n !== 'bigint' || n > I64_MAX || n < I64_MIN)
    throw new RangeError(`${String(n)} is not a signed 64-bit integer`);
  return n.toString();
}
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

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
 * Increments of settlement_account per (region, seller, currency, cycle), summed in memory and
 * written by apply() as multi-row upserts. admit() only the items actually inserted, and apply
 * once per transaction: a second apply() writes nothing.
 *
 * admit() is where the payout bound holds. It reads each account's balance the first time the
 * transaction touches it (one primary-key read per batch of new accounts; later appends of the
 * same transaction reuse it), adds what this transaction already admitted, and checks the
 * account's credits and debits in the batch against the bound: when neither could take it out,
 * every item is admitted at once (the common case, two comparisons per account). Only an account
 * that could cross is walked item by item, in batch order, refusing each item that would move the
 * balance further out past the bound. So the outcome is that of booking the items one at a time,
 * in order, whatever the batching (a redelivery in other sub-batches, the runtime isolating a
 * record). An item that moves the balance back in is always admitted, so a seller carried beyond
 * the bound in debt still earns.
 *
 * The balance read is a plain read (no locks: upload partitions write the same sellers side by
 * side, and locking reads of absent rows would deadlock them), so a concurrent writer can move an
 * account after it. apply()'s upsert therefore refuses to leave any balance past its bound; only
 * when one would (an account carried past it, or a concurrent writer's doing) does it write
 * unchecked and read back those accounts, and if one is not the balance admit() planned, fail the
 * batch as retriable: the rerun reads the committed balance and refuses what no longer fits. A
 * transaction that appends once needs no read at all in the common case: see admitAndApply().
 */
export class BalanceIncrements {
  // By seller first: a seller has one account per batch almost always, so the list is one long,
  // and no key string is built per item.
  private sums = new Map<bigint, Account[]>();
  private calls = 0;

  /**
   * `read` (the default) admits item by item against balances it reads. `guarded` reads nothing:
   * admit() takes every item and apply() writes them all with one guarded upsert, which changes
   * nothing and throws BalanceGuardMissedError if any account of the transaction lies where some
   * order of its items could cross the bound. The caller then rolls back to before its appends and
   * redoes them in `read` mode, so the outcome is always the reading one; upload ingestion does
   * this (its chunks touch thousands of accounts, and reading them cost a query per chunk).
   */
  constructor(private readonly mode: 'read' | 'guarded' = 'read') {}

  /**
   * Admits `items` (all new rows) against their accounts' bounds and returns those refused; the
   * rest are added to the increments. `mandatory` items are never refused.
   */
  async admit(
    trx: Knex.Transaction,
    items: BillingItemInput[],
    mandatory = false,
  ): Promise<RefusedItem[]> {
    if (this.mode === 'guarded') {
      // A guarded write can only ever refuse by failing whole; an item that must be booked whatever
      // the bound has no place in it.
      if (mandatory) throw new Error('mandatory items need BalanceIncrements in read mode');
      for (const { account, items: its } of this.group(items).touched) {
        const { credits, debits } = sides(its);
        account.credits += credits;
        account.debits += debits;
        account.amount += credits + debits;
        account.count += its.length;
      }
      return [];
    }
    const { touched, unread } = this.group(items);
    if (unread.length > 0) await readBalances(trx, unread);
    return decide(touched, mandatory);
  }

  /**
   * admit() and apply() in one go, for a transaction that appends once (aggregation, commission),
   * without reading any balance in the common case. The upsert itself carries the check: it adds
   * the increments only if every account's balance before them lies where none of this batch's
   * accounts could cross its bound, i.e. within [-bound - debits, bound - credits] for the largest
   * credits and debits of any account in the batch (a new account starts at 0). The check runs on
   * the locked, current row, so no concurrent writer can slip past it. Should any account be that
   * close to its bound, the statement fails as a whole (a NULL into a NOT NULL column, which MariaDB
   * and MySQL both refuse) and changes nothing; then it is admit() and apply(), reading balances.
   */
  async admitAndApply(trx: Knex.Transaction, items: BillingItemInput[]): Promise<RefusedItem[]> {
    if (items.length === 0) return [];
    const { touched, unread } = this.group(items);
    let credits = 0n;
    let debits = 0n;
    let bound: bigint | undefined;
    const increments = touched.map(({ account, items: its }) => {
      const side = sides(its);
      if (side.credits > credits) credits = side.credits;
      if (side.debits < debits) debits = side.debits;
      const b = moneyBounds(account.currency).maxPayoutMinor;
      if (bound === undefined || b < bound) bound = b;
      return { account, amount: side.credits + side.debits, count: its.length };
    });
    if (unread.length === touched.length && credits <= bound! && -debits <= bound!) {
      const written = await upsert(trx, increments, {
        low: -bound! - debits,
        high: bound! - credits,
      });
      if (written) {
        for (const inc of increments) {
          inc.account.amount = 0n;
          inc.account.count = 0;
        }
        return [];
      }
    }
    if (unread.length > 0) await readBalances(trx, unread);
    const refused = decide(touched, false);
    await this.apply(trx);
    return refused;
  }

  /** The accounts of `items`, each with its items in order; `unread` are new to this object. */
  private group(items: BillingItemInput[]): { touched: Touched[]; unread: Account[] } {
    const touched: Touched[] = [];
    const unread: Account[] = [];
    // Each call marks the accounts it touches with its own number, so finding an account's batch
    // is a field read rather than a map lookup per item.
    const mark = ++this.calls;
    let last: Account | undefined;
    for (const it of items) {
      let account = last;
      if (
        !account ||
        account.shop !== it.shopUserId ||
        account.cycle !== it.cycleId ||
        account.region !== it.region ||
        account.currency !== it.currency
      ) {
        account = this.find(it);
        if (!account) {
          account = {
            region: it.region,
            shop: it.shopUserId,
            currency: it.currency,
            cycle: it.cycleId,
            base: undefined,
            amount: 0n,
            count: 0,
            credits: 0n,
            debits: 0n,
            mark: 0,
            batch: undefined,
          };
          const accounts = this.sums.get(it.shopUserId);
          if (accounts) accounts.push(account);
          else this.sums.set(it.shopUserId, [account]);
          unread.push(account);
        }
      }
      if (account.mark !== mark) {
        account.mark = mark;
        account.batch = { account, items: [] };
        touched.push(account.batch);
      }
      account.batch!.items.push(it);
      last = account;
    }
    return { touched, unread };
  }

  private find(it: BillingItemInput): Account | undefined {
    const accounts = this.sums.get(it.shopUserId);
    if (!accounts) return undefined;
    for (const a of accounts)
      if (a.cycle === it.cycleId && a.region === it.region && a.currency === it.currency) return a;
    return undefined;
  }

  async apply(trx: Knex.Transaction): Promise<void> {
    const rows = [...this.sums.values()].flat().filter((a) => a.count > 0);
    if (rows.length === 0) return;
    if (this.mode === 'guarded') return this.applyGuarded(trx, rows);
    const increments = rows.map((account) => ({
      account,
      amount: account.amount,
      count: account.count,
    }));
    // The upsert checks that no balance ends past its bound (the smallest bound of the batch); if
    // one would, it changes nothing, and the unchecked upsert is followed by a read of the accounts
    // past the bound: one carried past it legitimately, or a concurrent writer's doing.
    let bound: bigint | undefined;
    for (const a of rows) {
      const b = moneyBounds(a.currency).maxPayoutMinor;
      if (bound === undefined || b < bound) bound = b;
    }
    if (!(await upsert(trx, increments, { endWithin: bound! }))) {
      await upsert(trx, increments);
      await confirmBalances(trx, rows);
    }
    // Written: what was admitted is now part of the balance, and nothing is left to write.
    for (const a of rows) {
      a.base = a.base! + a.amount;
      a.amount = 0n;
      a.count = 0;
    }
  }

  /**
   * For guarded mode, apply(): no running balance of an account, in whatever order its items come,
   * leaves [start + debits, start + credits]; so when every account starts within
   * [-bound - debits, bound - credits] (the batch's extremes, the smallest bound) nothing can cross,
   * and the upsert checks exactly that on the locked rows. Anything else is the reading path's to
   * judge.
   */
  private async applyGuarded(trx: Knex.Transaction, rows: Account[]): Promise<void> {
    let credits = 0n;
    let debits = 0n;
    let bound: bigint | undefined;
    for (const a of rows) {
      if (a.credits > credits) credits = a.credits;
      if (a.debits < debits) debits = a.debits;
      const b = moneyBounds(a.currency).maxPayoutMinor;
      if (bound === undefined || b < bound) bound = b;
    }
    const increments = rows.map((account) => ({ account, amount: account.amount, count: account.count }));
    const fits = credits <= bound! && -debits <= bound!;
    if (!fits || !(await upsert(trx, increments, { low: -bound! - debits, high: bound! - credits }))) throw new BalanceGuardMissedError(rows.length);
    for (const a of rows) {
      a.amount = 0n;
      a.count = 0;
      a.credits = 0n;
      a.debits = 0n;
    }
  }
}

interface Touched {
  account: Account;
  items: BillingItemInput[];
}

/** The credits and the debits of some items, apart. */
function sides(items: BillingItemInput[]): { credits: bigint; debits: bigint } {
  let credits = 0n;
  let debits = 0n;
  for (const it of items) {
    if (it.amountMinor > 0n) credits += it.amountMinor;
    else debits += it.amountMinor;
  }
  return { credits, debits };
}

/**
 * Admits each account's items against its bound, from its balance so far (base + amount), and
 * returns those refused; the admitted ones are added to `amount` and `count`.
 */
function decide(touched: Touched[], mandatory: boolean): RefusedItem[] {
  const refused: RefusedItem[] = [];
  for (const { account, items: its } of touched) {
    const start = account.base! + account.amount;
    // No running balance, in whatever order, can go above start + credits or below
    // start + debits, so when both are inside the bound every item is.
    const { credits, debits } = sides(its);
    const { maxPayoutMinor } = moneyBounds(account.currency);
    if (mandatory || (start + credits <= maxPayoutMinor && start + debits >= -maxPayoutMinor)) {
      const end = start + credits + debits;
      if (end > INT64_MAX || end < -INT64_MAX) throw new BalanceOverflowError(account, end);
      account.amount += credits + debits;
      account.count += its.length;
      continue;
    }
    // Could cross the bound: item by item. |balance| never grows past max(bound, |start|), so
    // every value here fits a signed BIGINT.
    let balance = start;
    for (const it of its) {
      const next = balance + it.amountMinor;
      const out = next > maxPayoutMinor || next < -maxPayoutMinor;
      if (out && abs(next) > abs(balance)) {
        refused.push({
          item: it,
          code: 'BALANCE_LIMIT',
          reason: `seller ${it.shopUserId}'s ${it.currency} balance in cycle ${it.cycleId} is ${balance} minor units; ${it.amountMinor} more would make it ${next}, beyond the payout bound of ${maxPayoutMinor}`,
        });
        continue;
      }
      balance = next;
      account.count++;
    }
    account.amount = balance - account.base!;
  }
  return refused;
}

/**
 * A guard for upsert(): the balance before (`low`..`high`) or after (`endWithin`) the increment
 * that every updated account must have, or the statement changes nothing.
 */
type Guard = { low: bigint; high: bigint } | { endWithin: bigint };

/**
 * The multi-row upsert of increments, in primary-key order (concurrent batches then lock accounts
 * in the same order and deadlock less). With a guard, false (and nothing written, the statement
 * rolled back by the server) when an account fails it.
 */
async function upsert(
  trx: Knex.Transaction,
  increments: Array<{ account: Account; amount: bigint; count: number }>,
  guard?: Guard,
): Promise<boolean> {
  const rows = increments
    .filter((r) => r.count > 0)
    .sort((a, b) =>
      a.account.region === b.account.region
        ? a.account.shop < b.account.shop
          ? -1
          : a.account.shop > b.account.shop
            ? 1
            : 0
        : a.account.region < b.account.region
          ? -1
          : 1,
    );
  const sum = 'balance_minor + VALUES(balance_minor)';
  const balance = !guard
    ? sum
    : 'low' in guard
      ? `IF(balance_minor BETWEEN ${int64(guard.low)} AND ${int64(guard.high)}, ${sum}, NULL)`
      : `IF(${sum} BETWEEN ${int64(-guard.endWithin)} AND ${int64(guard.endWithin)}, ${sum}, NULL)`;
  // One statement is undone by the server when the guard fails it; several need a savepoint, so
  // that "false" still means "nothing written".
  const savepoint = guard !== undefined && rows.length > CHUNK;
  if (savepoint) await trx.raw('SAVEPOINT sts_balance_guard');
  try {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const values = chunk
        .map(
          ({ account: r, amount, count }) =>
            `(${escape(r.region)},${int64(r.shop)},${escape(r.currency)},${int64(r.cycle)},${int64(amount)},${count})`,
        )
        .join(',');
      await trx.raw(
        `INSERT INTO settlement_account (region, shop_user_id, currency, cycle_id, balance_minor, item_count) VALUES ${values}
         ON DUPLICATE KEY UPDATE balance_minor = ${balance}, item_count = item_count + VALUES(item_count), updated_at = CURRENT_TIMESTAMP(3)`,
      );
    }
  } catch (err) {
    if (!guard || (err as { errno?: number }).errno !== 1048 /* ER_BAD_NULL_ERROR: the guard */)
      throw err;
    if (savepoint) await trx.raw('ROLLBACK TO SAVEPOINT sts_balance_guard');
    return false;
  }
  if (savepoint) await trx.raw('RELEASE SAVEPOINT sts_balance_guard');
  return true;
}

const balanceMoved = (a: Account) =>
  new ConcurrentWriteError(
    `seller ${a.shop}'s ${a.currency} balance in cycle ${a.cycle} changed while this batch was admitted against it; retrying the batch`,
  );

interface Account {
  region: string;
  shop: bigint;
  currency: string;
  cycle: bigint;
  /** The balance before this transaction, as read; undefined until read. */
  base: bigint | undefined;
  /** Admitted so far in this transaction. */
  amount: bigint;
  count: number;
  /** Guarded mode: the credits and the debits admitted in this transaction, apart. */
  credits: bigint;
  debits: bigint;
  /** The group() call that last touched it, and its items in that call. */
  mark: number;
  batch: Touched | undefined;
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/** Accounts grouped by (region, currency, cycle): the full primary key, one IN list of sellers. */
function byAccountGroup(accounts: Account[]): Map<string, Account[]> {
  const groups = new Map<string, Account[]>();
  for (const a of accounts) {
    const g = `${a.region}\u0000${a.currency}\u0000${a.cycle}`;
    const list = groups.get(g);
    if (list) list.push(a);
    else groups.set(g, [a]);
  }
  return groups;
}

/** Sets `base` of each account from settlement_account (0 for an account not there yet). */
async function readBalances(trx: Knex.Transaction, accounts: Account[]): Promise<void> {
  for (const group of byAccountGroup(accounts).values()) {
    const { region, currency, cycle } = group[0]!;
    for (let i = 0; i < group.length; i += IN_LIST_MAX) {
      const slice = group.slice(i, i + IN_LIST_MAX);
      const bySeller = new Map(slice.map((a) => [a.shop, a]));
      const [rows] = (await trx.raw(
        `SELECT shop_user_id, balance_minor FROM settlement_account FORCE INDEX (PRIMARY) WHERE region = ${escape(region)} AND currency = ${escape(currency)} AND cycle_id = ${int64(cycle)} AND shop_user_id IN (${intList(slice.map((a) => a.shop))})`,
      )) as [Array<{ shop_user_id: string; balance_minor: string }>];
      for (const r of rows) bySeller.get(BigInt(r.shop_user_id))!.base = BigInt(r.balance_minor);
      for (const a of slice) a.base ??= 0n;
    }
  }
}

/**
 * After the upsert: every account left beyond its payout bound must hold exactly the balance
 * admit() planned (one already there, moved only inward, or a mandatory item). Anything else means
 * a concurrent writer moved it after admit() read it; the batch reruns against the new balance.
 * Accounts within the bound are not returned by the read, so it costs one index lookup each.
 */
async function confirmBalances(trx: Knex.Transaction, accounts: Account[]): Promise<void> {
  for (const group of byAccountGroup(accounts).values()) {
    const { region, currency, cycle } = group[0]!;
    const bound = moneyBounds(currency).maxPayoutMinor;
    for (let i = 0; i < group.length; i += IN_LIST_MAX) {
      const slice = group.slice(i, i + IN_LIST_MAX);
      const [rows] = (await trx.raw(
        `SELECT shop_user_id, balance_minor FROM settlement_account FORCE INDEX (PRIMARY) WHERE region = ${escape(region)} AND currency = ${escape(currency)} AND cycle_id = ${int64(cycle)} AND shop_user_id IN (${intList(slice.map((a) => a.shop))}) AND (balance_minor > ${bound} OR balance_minor < ${-bound})`,
      )) as [Array<{ shop_user_id: string; balance_minor: string }>];
      if (rows.length === 0) continue;
      const bySeller = new Map(slice.map((a) => [a.shop, a]));
      for (const r of rows) {
        const a = bySeller.get(BigInt(r.shop_user_id))!;
        if (BigInt(r.balance_minor) !== a.base! + a.amount) throw balanceMoved(a);
      }
    }
  }
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
