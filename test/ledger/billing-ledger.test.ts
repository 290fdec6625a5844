import { useTestResources } from '../helpers/resources';
import { appendBillingItems, BalanceIncrements, type BillingItemInput } from '../../runtime/ledger/billing-ledger';

const r = useTestResources();

const SELLER = 652024209997893632n;
let nextId = 900000000000000000n;
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
  cycleId: 20261116n,
  memo: null,
  ...over,
});

describe('billing ledger', () => {
  test('stores text exactly as given, whatever quotes, backslashes, placeholders or control characters it holds', async () => {
    const { db } = await r.database();
    const texts = ["it's", 'back\\slash', 'a "quoted" word', 'what?', '??', 'nul\u0000byte', 'line\nbreak\r\ttab', '\u001a', '😀 é 中文', '%s %d', "'); DROP TABLE billing_item; --"];
    const items = texts.map((t, i) => item({ sourceRef: `${t}#${i}`, memo: t, orderId: 700000000000000000n + BigInt(i) }));
    const result = await db.transaction((trx) => appendBillingItems(trx, items));
    expect(result.inserted).toHaveLength(texts.length);
    const rows = (await db('billing_item').select('source_ref', 'memo', 'order_id', 'shop_user_id').orderBy('order_id')) as Array<Record<string, string>>;
    expect(rows.map((row) => row.memo)).toEqual(texts);
    expect(rows.map((row) => row.source_ref)).toEqual(texts.map((t, i) => `${t}#${i}`));
    expect(rows.every((row) => row.shop_user_id === SELLER.toString())).toBe(true);
    expect(rows[0]!.order_id).toBe('700000000000000000');
  });

  test('with a BalanceIncrements, balances move once per account at apply(), by the sum of every append', async () => {
    const { db } = await r.database();
    const other = SELLER + 1n;
    await db.transaction(async (trx) => {
      const balances = new BalanceIncrements();
      await appendBillingItems(trx, [item({ amountMinor: 100n }), item({ amountMinor: -30n, shopUserId: other })], { balances });
      const first = item({ amountMinor: 5n });
      await appendBillingItems(trx, [first, item({ amountMinor: 7n })], { balances });
      // A duplicate of an item appended earlier in the transaction adds nothing.
      await appendBillingItems(trx, [{ ...first, id: nextId++ }], { balances });
      expect(await trx('settlement_account').count({ n: '*' }).first()).toEqual({ n: '0' });
      await balances.apply(trx);
      await balances.apply(trx);
    });
    const accounts = (await db('settlement_account').select('shop_user_id', 'balance_minor', 'item_count').orderBy('shop_user_id')) as Array<Record<string, string>>;
    expect(accounts).toEqual([
      { shop_user_id: SELLER.toString(), balance_minor: '112', item_count: '3' },
      { shop_user_id: other.toString(), balance_minor: '-30', item_count: '1' },
    ]);
  });

  test('refuses an amount that is not a 64-bit integer before anything reaches the database', async () => {
    const { db } = await r.database();
    await expect(db.transaction((trx) => appendBillingItems(trx, [item({ amountMinor: 2n ** 63n })]))).rejects.toThrow(RangeError);
    await expect(db.transaction((trx) => appendBillingItems(trx, [item({ amountMinor: '5' as unknown as bigint })]))).rejects.toThrow(RangeError);
    expect(await db('billing_item').count({ n: '*' }).first()).toEqual({ n: '0' });
  });
});
