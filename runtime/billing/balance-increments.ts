import type { Knex } from 'knex';
import { escape } from 'mysql2';
import { IN_LIST_MAX, int64Literal, intList } from '../db/int-list';
import { BalanceGuardMissedError, BalanceOverflowError, ConcurrentWriteError } from './billing-errors';
import { INT64_MAX, moneyBounds } from '../money/money-bounds';
import type { BillingItemInput, RefusedItem } from './billing-item';

/** Accounts per upsert statement. */
const CHUNK = 5000;

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
    const batch = touched.map(({ account, items: its }) => ({ account, count: its.length, ...sides(its) }));
    const increments = batch.map(({ account, count, credits, debits }) => ({ account, amount: credits + debits, count }));
    // Only when every account is new to this object: one it has read may already hold admitted items.
    const guard = unread.length === touched.length ? startingRange(batch) : null;
    if (guard) {
      const written = await upsert(trx, increments, guard);
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

  /** Guarded mode's apply(): one upsert that writes only if every account starts in startingRange(). */
  private async applyGuarded(trx: Knex.Transaction, rows: Account[]): Promise<void> {
    const increments = rows.map((account) => ({ account, amount: account.amount, count: account.count }));
    const guard = startingRange(rows.map((account) => ({ account, credits: account.credits, debits: account.debits })));
    if (!guard || !(await upsert(trx, increments, guard))) throw new BalanceGuardMissedError(rows.length);
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
 * The balances from which no account of a batch can cross its payout bound, whatever order its
 * items come in: a running balance stays within [start + debits, start + credits], so every
 * account must start within [-bound - debits, bound - credits] for the batch's largest credits and
 * debits and its smallest bound. Null when no start could do (the batch alone spans the bound).
 */
function startingRange(batch: Array<{ account: Account; credits: bigint; debits: bigint }>): { low: bigint; high: bigint } | null {
  let credits = 0n;
  let debits = 0n;
  let bound: bigint | undefined;
  for (const b of batch) {
    if (b.credits > credits) credits = b.credits;
    if (b.debits < debits) debits = b.debits;
    const max = moneyBounds(b.account.currency).maxPayoutMinor;
    if (bound === undefined || max < bound) bound = max;
  }
  if (bound === undefined || credits > bound || -debits > bound) return null;
  return { low: -bound - debits, high: bound - credits };
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
      ? `IF(balance_minor BETWEEN ${int64Literal(guard.low)} AND ${int64Literal(guard.high)}, ${sum}, NULL)`
      : `IF(${sum} BETWEEN ${int64Literal(-guard.endWithin)} AND ${int64Literal(guard.endWithin)}, ${sum}, NULL)`;
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
            `(${escape(r.region)},${int64Literal(r.shop)},${escape(r.currency)},${int64Literal(r.cycle)},${int64Literal(amount)},${count})`,
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
        `SELECT shop_user_id, balance_minor FROM settlement_account FORCE INDEX (PRIMARY) WHERE region = ${escape(region)} AND currency = ${escape(currency)} AND cycle_id = ${int64Literal(cycle)} AND shop_user_id IN (${intList(slice.map((a) => a.shop))})`,
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
        `SELECT shop_user_id, balance_minor FROM settlement_account FORCE INDEX (PRIMARY) WHERE region = ${escape(region)} AND currency = ${escape(currency)} AND cycle_id = ${int64Literal(cycle)} AND shop_user_id IN (${intList(slice.map((a) => a.shop))}) AND (balance_minor > ${bound} OR balance_minor < ${-bound})`,
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
