import { useTestResources } from '../../fixtures/resources';
import { appendBillingItems, BalanceIncrements, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { DEFAULT_MONEY_BOUNDS, parseMoneyBounds } from '../../../runtime/money/money-bounds';
import { StsError } from '../../../runtime/errors';
import { BalanceGuardMissedError } from '../../../runtime/billing/billing-errors';
import { isRetriable } from '../../../runtime/processor/retry-policy';

/**
 * The payout bound held in the billing ledger itself, against a real MariaDB: an item that would
 * move its account past ±maxPayoutMinor is refused with a reason and leaves no row, the rest of
 * the batch applies, and a balance stays the exact sum of what was applied.
 */
const r = useTestResources();

const ITEM = DEFAULT_MONEY_BOUNDS.maxItemMinor;
const PAYOUT = DEFAULT_MONEY_BOUNDS.maxPayoutMinor;
const SELLER = 652024209997893632n;
const CYCLE = 20261116n;
let nextId = 910000000000000000n;
const item = (over: Partial<BillingItemInput>): BillingItemInput => ({
  id: nextId++,
  region: 'SG',
  shopUserId: SELLER,
  currency: 'SGD',
  amountMinor: 100n,
  itemType: 'ADJUSTMENT',
  source: 'UPLOAD',
  sourceRef: `ref-${nextId}`,
  orderId: null,
  cycleId: CYCLE,
  memo: null,
  ...over,
});

async function balanceOf(db: import('knex').Knex, shop = SELLER): Promise<{ balance: bigint; count: bigint } | undefined> {
  const row = (await db('settlement_account').where({ region: 'SG', shop_user_id: shop.toString(), cycle_id: CYCLE.toString() }).first('balance_minor', 'item_count')) as
    | { balance_minor: string; item_count: string }
    | undefined;
  return row && { balance: BigInt(row.balance_minor), count: BigInt(row.item_count) };
}

describe('money bounds in the billing ledger', () => {
  test('an item at the item bound applies; one past it is refused with AMOUNT_OUT_OF_BOUNDS and never written', async () => {
    const { db } = await r.database();
    const atBound = item({ amountMinor: ITEM });
    const past = item({ amountMinor: -(ITEM + 1n) });
    const result = await db.transaction((trx) => appendBillingItems(trx, [atBound, past]));
    expect(result.inserted).toEqual([atBound]);
    expect(result.refused).toEqual([{ item: past, code: 'AMOUNT_OUT_OF_BOUNDS', reason: expect.stringContaining('beyond the SGD item bound') }]);
    expect(await balanceOf(db)).toEqual({ balance: ITEM, count: 1n });
    expect(await db('billing_item').whereIn('id', [past.id.toString()]).count({ n: '*' }).first()).toEqual({ n: '0' });
  });

  test('the item that would push a balance past the payout bound is refused; the rest of the batch, and other sellers, apply', async () => {
    const { db } = await r.database();
    const other = SELLER + 7n;
    // Ten items at the item bound are 10^17 - 10, just inside the payout bound of 10^17 - 1.
    const fill = Array.from({ length: 10 }, () => item({ amountMinor: ITEM }));
    await db.transaction((trx) => appendBillingItems(trx, fill));
    const over = item({ amountMinor: 10n });
    const fits = item({ amountMinor: 9n });
    const elsewhere = item({ shopUserId: other, amountMinor: ITEM });
    const back = item({ amountMinor: -5n });
    const result = await db.transaction((trx) => appendBillingItems(trx, [over, elsewhere, fits, back]));
    expect(result.refused.map((x) => [x.item, x.code])).toEqual([[over, 'BALANCE_LIMIT']]);
    expect(result.refused[0]!.reason).toMatch(/beyond the payout bound of 99999999999999999/);
    expect(result.inserted).toEqual([elsewhere, fits, back]);
    expect(await balanceOf(db)).toEqual({ balance: PAYOUT - 5n, count: 12n });
    expect(await balanceOf(db, other)).toEqual({ balance: ITEM, count: 1n });
    expect(await db('billing_item').where({ id: over.id.toString() }).first()).toBeUndefined();

    // Redelivered, the refused item is judged again against the balance, and still refused; the
    // applied ones are duplicates. (A redelivery gets fresh ids, as the processors draw them.)
    const redelivered = [over, elsewhere, fits, back].map((x) => ({ ...x, id: nextId++ }));
    const again = await db.transaction((trx) => appendBillingItems(trx, redelivered));
    expect(again.refused.map((x) => x.item)).toEqual([redelivered[0]]);
    expect(again.duplicates).toEqual(redelivered.slice(1));
    expect(await balanceOf(db)).toEqual({ balance: PAYOUT - 5n, count: 12n });
  });

  test('the bound holds across the appends of one transaction (upload ingestion: many chunks, one balance write)', async () => {
    const { db } = await r.database();
    const chunks = [Array.from({ length: 6 }, () => item({ amountMinor: -ITEM })), Array.from({ length: 6 }, () => item({ amountMinor: -ITEM }))];
    const refused: BillingItemInput[] = [];
    await db.transaction(async (trx) => {
      const balances = new BalanceIncrements();
      for (const c of chunks) refused.push(...(await appendBillingItems(trx, c, { balances })).refused.map((x) => x.item));
      await balances.apply(trx);
    });
    expect(refused).toEqual(chunks[1]!.slice(4));
    expect(await balanceOf(db)).toEqual({ balance: -10n * ITEM, count: 10n });
  });

  test('guarded mode books many appends with one guarded upsert and reads no balance', async () => {
    const { db } = await r.database();
    const reads: string[] = [];
    const appends = [[item({ amountMinor: ITEM }), item({ amountMinor: -5n })], [item({ amountMinor: 7n }), item({ shopUserId: SELLER + 1n, amountMinor: 3n })]];
    await db.transaction(async (trx) => {
      trx.on('query', (q: { sql: string }) => /balance_minor FROM settlement_account/.test(q.sql) && reads.push(q.sql));
      const balances = new BalanceIncrements('guarded');
      for (const list of appends) expect((await appendBillingItems(trx, list, { balances })).refused).toEqual([]);
      await balances.apply(trx);
    });
    expect(reads).toEqual([]);
    expect(await balanceOf(db)).toEqual({ balance: ITEM + 2n, count: 3n });
    expect(await balanceOf(db, SELLER + 1n)).toEqual({ balance: 3n, count: 1n });
  });

  test('guarded mode writes nothing and says so when an account could reach its bound; read mode then refuses the crossing item', async () => {
    const { db } = await r.database();
    await db('settlement_account').insert({ region: 'SG', shop_user_id: SELLER.toString(), currency: 'SGD', cycle_id: CYCLE.toString(), balance_minor: (PAYOUT - 100n).toString(), item_count: 1 });
    const list = [item({ amountMinor: 50n }), item({ amountMinor: 100n }), item({ shopUserId: SELLER + 1n, amountMinor: 100n }), item({ amountMinor: -200n })];
    const error = await db.transaction(async (trx) => {
      const balances = new BalanceIncrements('guarded');
      await appendBillingItems(trx, list, { balances });
      await balances.apply(trx);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BalanceGuardMissedError);
    expect(error).toMatchObject({ code: 'STS_BALANCE_GUARD_MISSED', retriable: false });
    expect(await balanceOf(db)).toEqual({ balance: PAYOUT - 100n, count: 1n });
    expect(await balanceOf(db, SELLER + 1n)).toBeUndefined();

    const result = await db.transaction(async (trx) => {
      const balances = new BalanceIncrements('read');
      const out = await appendBillingItems(trx, list, { balances });
      await balances.apply(trx);
      return out;
    });
    expect(result.refused.map((x) => [x.item, x.code])).toEqual([[list[1], 'BALANCE_LIMIT']]);
    expect(await balanceOf(db)).toEqual({ balance: PAYOUT - 250n, count: 3n });
    expect(await balanceOf(db, SELLER + 1n)).toEqual({ balance: 100n, count: 1n });
  });

  test('a balance carried past the bound (mandatory) still moves inward, never further out', async () => {
    const { db } = await r.database();
    const carry = item({ amountMinor: -(PAYOUT + 50n), itemType: 'CARRY_FORWARD', source: 'CARRY_FORWARD' });
    const carried = await db.transaction((trx) => appendBillingItems(trx, [carry], { mandatory: true }));
    expect(carried.inserted).toEqual([carry]);
    const sale = item({ amountMinor: 20n });
    const debit = item({ amountMinor: -1n });
    const result = await db.transaction((trx) => appendBillingItems(trx, [sale, debit]));
    expect(result.inserted).toEqual([sale]);
    expect(result.refused.map((x) => [x.item, x.code])).toEqual([[debit, 'BALANCE_LIMIT']]);
    expect(await balanceOf(db)).toEqual({ balance: -(PAYOUT + 30n), count: 2n });
  });

  test('a mandatory item that would take a balance past int64 fails its batch with STS_BALANCE_OVERFLOW, nothing written', async () => {
    const { db } = await r.database();
    await db('settlement_account').insert({ region: 'SG', shop_user_id: SELLER.toString(), currency: 'SGD', cycle_id: CYCLE.toString(), balance_minor: (-(2n ** 62n)).toString(), item_count: 1 });
    const carry = item({ amountMinor: -(2n ** 62n) - 10n, source: 'CARRY_FORWARD' });
    const error = await db.transaction((trx) => appendBillingItems(trx, [carry], { mandatory: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StsError);
    expect((error as StsError).code).toBe('STS_BALANCE_OVERFLOW');
    expect((error as StsError).fix).toBeTruthy();
    expect(await db('billing_item').count({ n: '*' }).first()).toEqual({ n: '0' });
    expect(await balanceOf(db)).toEqual({ balance: -(2n ** 62n), count: 1n });
  });

  test('a concurrent writer that moves the account after it was read makes the batch retriable, never over the bound', async () => {
    const { db } = await r.database();
    const error = await db
      .transaction(async (trx) => {
        const balances = new BalanceIncrements();
        // Admitted against a balance of 0: well inside.
        await appendBillingItems(trx, Array.from({ length: 6 }, () => item({ amountMinor: ITEM })), { balances });
        // Meanwhile another processor books 6 more for the same seller and commits.
        await db.transaction((other) => appendBillingItems(other, Array.from({ length: 6 }, () => item({ amountMinor: ITEM }))));
        await balances.apply(trx);
      })
      .catch((e: unknown) => e);
    expect((error as StsError).code).toBe('STS_CONCURRENT_WRITE');
    expect(isRetriable(error)).toBe(true);
    expect(await balanceOf(db)).toEqual({ balance: 6n * ITEM, count: 6n });
    // The rerun reads the committed balance and refuses what no longer fits.
    const rerun = await db.transaction(async (trx) => {
      const balances = new BalanceIncrements();
      const res = await appendBillingItems(trx, Array.from({ length: 6 }, () => item({ amountMinor: ITEM })), { balances });
      await balances.apply(trx);
      return res;
    });
    expect(rerun.inserted).toHaveLength(4);
    expect(rerun.refused).toHaveLength(2);
    expect(await balanceOf(db)).toEqual({ balance: 10n * ITEM, count: 10n });
  });

  test('one balance write over more than 5,000 accounts, the last carried past the bound: the checked upsert is undone whole and every balance is exact', async () => {
    const { db } = await r.database();
    const last = SELLER + 6000n;
    await db.transaction((trx) => appendBillingItems(trx, [item({ shopUserId: last, amountMinor: -(PAYOUT + 7n) })], { mandatory: true }));
    const items = Array.from({ length: 6001 }, (_, i) => item({ shopUserId: SELLER + BigInt(i), amountMinor: 3n }));
    await db.transaction(async (trx) => {
      const balances = new BalanceIncrements();
      await appendBillingItems(trx, items.slice(0, 3000), { balances });
      await appendBillingItems(trx, items.slice(3000), { balances });
      await balances.apply(trx);
    });
    const rows = (await db('settlement_account').select('shop_user_id', 'balance_minor', 'item_count')) as Array<{ shop_user_id: string; balance_minor: string; item_count: string }>;
    expect(rows).toHaveLength(6001);
    for (const row of rows) {
      const expected = BigInt(row.shop_user_id) === last ? [-(PAYOUT + 4n), '2'] : [3n, '1'];
      expect([row.shop_user_id, BigInt(row.balance_minor), row.item_count]).toEqual([row.shop_user_id, ...expected]);
    }
  });

  test('9,007,199,254,740,993 minor units (past 2^53) is booked and summed exactly', async () => {
    const { db } = await r.database();
    const amount = 9_007_199_254_740_993n;
    const result = await db.transaction((trx) => appendBillingItems(trx, [item({ amountMinor: amount }), item({ amountMinor: 2n })]));
    expect(result.refused).toEqual([]);
    expect(await balanceOf(db)).toEqual({ balance: amount + 2n, count: 2n });
  });

  test('STS_MONEY_BOUNDS leaves room above a payout for a positive carry-forward', () => {
    expect(() => parseMoneyBounds('SGD:payout=999999999999999999')).toThrow(/STS_MONEY_BOUNDS is invalid/);
    expect(parseMoneyBounds('SGD:item=100,payout=1000').get('SGD')).toEqual({ maxItemMinor: 100n, maxPayoutMinor: 1000n });
  });
});
