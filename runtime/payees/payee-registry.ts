import type { Knex } from '../db/knex';
import { intList } from '../db/int-list';
import { PayeeInvalidError } from './payee-errors';
import { checkPayeeDetails, type PayeeDetails, type PayeeInput } from './payee-details';

/**
 * The payee registry: each seller's payee account per currency, every version kept
 * (migration 0016_payout_rails). A change adds a version and stamps the one it replaces; nothing is
 * ever updated in place or deleted, so a payout frozen to a version can always be traced to the
 * account it was made to, and who set it.
 */
export interface PayeeAccount extends PayeeDetails {
  id: bigint;
  shopUserId: bigint;
  currency: string;
  version: number;
  changedBy: string;
  createdAt: Date;
  replacedAt: Date | null;
}

export interface SetPayeeResult {
  account: PayeeAccount;
  /** False when the details equal the current version's: nothing was written. */
  changed: boolean;
}

interface Row {
  id: string;
  shop_user_id: string;
  currency: string;
  version: number;
  holder_name: string;
  account: string;
  account_scheme: PayeeDetails['accountScheme'];
  bank_id: string;
  bank_scheme: PayeeDetails['bankScheme'];
  country: string;
  changed_by: string;
  created_at: Date;
  replaced_at: Date | null;
}

/** Sellers per statement. */
const CHUNK = 1000;

const COLUMNS = 'CAST(id AS CHAR) AS id, CAST(shop_user_id AS CHAR) AS shop_user_id, currency, version, holder_name, account, account_scheme, bank_id, bank_scheme, country, changed_by, created_at, replaced_at';

const fromRow = (r: Row): PayeeAccount => ({
  id: BigInt(r.id),
  shopUserId: BigInt(r.shop_user_id),
  currency: r.currency,
  version: Number(r.version),
  holderName: r.holder_name,
  account: r.account,
  accountScheme: r.account_scheme,
  bankId: r.bank_id,
  bankScheme: r.bank_scheme,
  country: r.country,
  changedBy: r.changed_by,
  createdAt: r.created_at,
  replacedAt: r.replaced_at,
});

const same = (a: PayeeDetails, b: PayeeDetails) =>
  a.holderName === b.holderName && a.account === b.account && a.bankId === b.bankId && a.country === b.country;

export interface PayeeEntry {
  shopUserId: bigint;
  payee: PayeeInput;
}

/**
 * Registers the seller's account for the currency, checked first (STS_PAYEE_INVALID). Setting the
 * details it already has changes nothing, so a repeated command does not restart a cool-off.
 */
export async function setPayee(db: Knex, shopUserId: bigint, input: PayeeInput, changedBy: string): Promise<SetPayeeResult> {
  return (await setPayees(db, [{ shopUserId, payee: input }], changedBy))[0]!;
}

/**
 * Registers many accounts in one transaction (the demo's and chaos run's sellers, a bulk import):
 * every entry is checked before anything is written, so one bad account refuses them all. Changes
 * of one seller and currency serialise on its current version's row lock; two first versions
 * written at once collide on uq_payee_account_version and the loser's transaction fails.
 */
export async function setPayees(db: Knex, entries: PayeeEntry[], changedBy: string): Promise<SetPayeeResult[]> {
  const checked = entries.map((e) => ({ ...e, details: checkPayeeDetails(e.payee) }));
  const key = (seller: bigint, currency: string) => `${seller}|${currency}`;
  const seen = new Set<string>();
  for (const e of checked) {
    const k = key(e.shopUserId, e.payee.currency);
    if (seen.has(k)) throw new PayeeInvalidError(`seller ${e.shopUserId} has two accounts for ${e.payee.currency} in one request`, 'give each seller and currency once');
    seen.add(k);
  }
  return db.transaction(async (trx) => {
    const current = new Map<string, PayeeAccount>();
    for (let i = 0; i < checked.length; i += CHUNK) {
      const part = checked.slice(i, i + CHUNK);
      const [rows] = (await trx.raw(
        `SELECT ${COLUMNS} FROM payee_account WHERE shop_user_id IN (${intList(part.map((e) => e.shopUserId))}) AND replaced_at IS NULL ORDER BY id FOR UPDATE`,
      )) as [Row[]];
      for (const r of rows) current.set(key(BigInt(r.shop_user_id), r.currency), fromRow(r));
    }
    const now = new Date();
    const replaced: bigint[] = [];
    const inserts: Array<Record<string, unknown>> = [];
    const results: Array<SetPayeeResult | undefined> = [];
    for (const e of checked) {
      const was = current.get(key(e.shopUserId, e.payee.currency));
      if (was && same(was, e.details)) {
        results.push({ account: was, changed: false });
        continue;
      }
      if (was) replaced.push(was.id);
      results.push(undefined);
      inserts.push({
        shop_user_id: e.shopUserId.toString(),
        currency: e.payee.currency,
        // Nothing is deleted, so the current version is always the highest one.
        version: (was?.version ?? 0) + 1,
        holder_name: e.details.holderName,
        account: e.details.account,
        account_scheme: e.details.accountScheme,
        bank_id: e.details.bankId,
        bank_scheme: e.details.bankScheme,
        country: e.details.country,
        changed_by: changedBy.slice(0, 64),
        created_at: now,
      });
    }
    for (let i = 0; i < replaced.length; i += CHUNK) await trx.raw(`UPDATE payee_account SET replaced_at = ? WHERE id IN (${intList(replaced.slice(i, i + CHUNK))})`, [now]);
    for (let i = 0; i < inserts.length; i += CHUNK) await trx('payee_account').insert(inserts.slice(i, i + CHUNK));
    // Read back what was written, for the caller to show: the ids the inserts were given.
    const fresh = new Map<string, PayeeAccount>();
    const written = checked.filter((_, i) => results[i] === undefined);
    for (let i = 0; i < written.length; i += CHUNK) {
      const part = written.slice(i, i + CHUNK);
      const [rows] = (await trx.raw(`SELECT ${COLUMNS} FROM payee_account WHERE shop_user_id IN (${intList(part.map((e) => e.shopUserId))}) AND replaced_at IS NULL`)) as [Row[]];
      for (const r of rows) fresh.set(key(BigInt(r.shop_user_id), r.currency), fromRow(r));
    }
    return checked.map((e, i) => results[i] ?? { account: fresh.get(key(e.shopUserId, e.payee.currency))!, changed: true });
  });
}

export async function payeeById(db: Knex, id: bigint): Promise<PayeeAccount | undefined> {
  const [rows] = (await db.raw(`SELECT ${COLUMNS} FROM payee_account WHERE id = ?`, [id] as unknown as string[])) as [Row[]];
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Every version of the seller's accounts, newest first; one currency when given. */
export async function payeeHistory(db: Knex, shopUserId: bigint, currency?: string): Promise<PayeeAccount[]> {
  const [rows] = (await db.raw(
    `SELECT ${COLUMNS} FROM payee_account WHERE shop_user_id = ?${currency ? ' AND currency = ?' : ''} ORDER BY currency, version DESC`,
    (currency ? [shopUserId, currency] : [shopUserId]) as unknown as string[],
  )) as [Row[]];
  return rows.map(fromRow);
}

/** Current accounts, in seller order, a page at a time after `afterSeller`. */
export async function listPayees(db: Knex, opts: { currency?: string; afterSeller?: bigint; limit: number }): Promise<PayeeAccount[]> {
  const where = ['replaced_at IS NULL', 'shop_user_id > ?'];
  const args: unknown[] = [opts.afterSeller ?? -1n];
  if (opts.currency) {
    where.push('currency = ?');
    args.push(opts.currency);
  }
  const [rows] = (await db.raw(`SELECT ${COLUMNS} FROM payee_account WHERE ${where.join(' AND ')} ORDER BY shop_user_id, currency LIMIT ?`, [...args, opts.limit] as unknown as string[])) as [Row[]];
  return rows.map(fromRow);
}

/**
 * The current account of every seller in [first, last] for the currency: one index range
 * (ix_payee_account_currency_seller), which is how the close reads a page of sellers.
 */
export async function currentPayees(trx: Knex, currency: string, first: bigint, last: bigint): Promise<Map<bigint, PayeeAccount>> {
  const [rows] = (await trx.raw(
    `SELECT ${COLUMNS} FROM payee_account WHERE currency = ? AND shop_user_id BETWEEN ? AND ? AND replaced_at IS NULL`,
    [currency, first, last] as unknown as string[],
  )) as [Row[]];
  return new Map(rows.map((r) => [BigInt(r.shop_user_id), fromRow(r)]));
}
