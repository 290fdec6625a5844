import { useTestResources } from '../../fixtures/resources';
import { createDb } from '../../../runtime/db/knex';
import {
  appendBillingItems,
  BalanceIncrements,
  type BillingItemInput,
} from '../../../runtime/billing/billing-ledger';

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
    const texts = [
      "it's",
      'back\\slash',
      'a "quoted" word',
      'what?',
      '??',
      'nul\u0000byte',
      'line\nbreak\r\ttab',
      '\u001a',
      '😀 é 中文',
      '%s %d',
      "'); DROP TABLE billing_item; --",
    ];
    const items = texts.map((t, i) =>
      item({ sourceRef: `${t}#${i}`, memo: t, orderId: 700000000000000000n + BigInt(i) }),
    );
    const result = await db.transaction((trx) => appendBillingItems(trx, items));
    expect(result.inserted).toHaveLength(texts.length);
    const rows = (await db('billing_item')
      .select('source_ref', 'memo', 'order_id', 'shop_user_id')
      .orderBy('order_id')) as Array<Record<string, string>>;
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
      await appendBillingItems(
        trx,
        [item({ amountMinor: 100n }), item({ amountMinor: -30n, shopUserId: other })],
        { balances },
      );
      const first = item({ amountMinor: 5n });
      await appendBillingItems(trx, [first, item({ amountMinor: 7n })], { balances });
      // A duplicate of an item appended earlier in the transaction adds nothing.
      await appendBillingItems(trx, [{ ...first, id: nextId++ }], { balances });
      expect(await trx('settlement_account').count({ n: '*' }).first()).toEqual({ n: '0' });
      await balances.apply(trx);
      await balances.apply(trx);
    });
    const accounts = (await db('settlement_account')
      .select('shop_user_id', 'balance_minor', 'item_count')
      .orderBy('shop_user_id')) as Array<Record<string, string>>;
    expect(accounts).toEqual([
      { shop_user_id: SELLER.toString(), balance_minor: '112', item_count: '3' },
      { shop_user_id: other.toString(), balance_minor: '-30', item_count: '1' },
    ]);
  });

  test('refuses an amount that is not a 64-bit integer before anything reaches the database', async () => {
    const { db } = await r.database();
    // Past int64 is past every item bound: refused with its reason, item by item, not a thrown batch.
    const refused = await db.transaction((trx) =>
      appendBillingItems(trx, [item({ amountMinor: 2n ** 63n })]),
    );
    expect(refused.refused.map((x) => x.code)).toEqual(['AMOUNT_OUT_OF_BOUNDS']);
    expect(refused.inserted).toEqual([]);
    await expect(
      db.transaction((trx) =>
        appendBillingItems(trx, [item({ amountMinor: '5' as unknown as bigint })]),
      ),
    ).rejects.toThrow(RangeError);
    expect(await db('billing_item').count({ n: '*' }).first()).toEqual({ n: '0' });
  });
});

/**
 * The ledger writes with LOAD DATA LOCAL and falls back to INSERT where the server refuses it: the
 * two paths must give the same outcomes. The INSERT pool is refused for real, by a client that
 * does not offer the capability.
 */
describe.each([
  ['LOAD DATA', true],
  ['INSERT, LOAD DATA refused', false],
])('billing ledger through %s', (_path, localInfile) => {
  const pool = async () => {
    const { db, url } = await r.database();
    const writer = createDb(url, { localInfile });
    r.defer(() => writer.destroy());
    return { db, writer };
  };

  test('stores text exactly as given', async () => {
    const { db, writer } = await pool();
    const texts = [
      'tab\there',
      'new\nline',
      'back\\slash\\N',
      '\\N',
      'nul\u0000',
      'cr\r',
      '😀 中文',
    ];
    const items = texts.map((t, i) =>
      item({ sourceRef: `${t}#${i}`, memo: t, orderId: 710000000000000000n + BigInt(i) }),
    );
    await writer.transaction((trx) => appendBillingItems(trx, items));
    const rows = (await db('billing_item')
      .select('source_ref', 'memo')
      .orderBy('order_id')) as Array<Record<string, string>>;
    expect(rows.map((row) => row.memo)).toEqual(texts);
    expect(rows.map((row) => row.source_ref)).toEqual(texts.map((t, i) => `${t}#${i}`));
  });

  test('splits a batch into inserted, duplicates of stored rows, conflicts with them, and repeats within the batch', async () => {
    const { db, writer } = await pool();
    const stored = [
      item({ sourceRef: 'a', amountMinor: 100n }),
      item({ sourceRef: 'b', amountMinor: 200n }),
    ];
    await writer.transaction((trx) => appendBillingItems(trx, stored));
    const again = item({ sourceRef: 'a', amountMinor: 100n });
    const different = item({ sourceRef: 'b', amountMinor: 201n });
    const fresh = item({ sourceRef: 'c', amountMinor: 5n });
    const repeat = item({ sourceRef: 'c', amountMinor: 5n });
    const result = await writer.transaction((trx) =>
      appendBillingItems(trx, [again, fresh, different, repeat]),
    );
    expect(result.inserted).toEqual([fresh]);
    expect(result.duplicates).toEqual([again, repeat]);
    expect(result.conflicts).toEqual([
      {
        item: different,
        existing: expect.objectContaining({ source_ref: 'b', amount_minor: '200' }),
      },
    ]);
    const rows = (await db('billing_item')
      .select('id', 'source_ref')
      .orderBy('source_ref')) as Array<{ id: string; source_ref: string }>;
    expect(rows).toEqual([
      { id: stored[0]!.id.toString(), source_ref: 'a' },
      { id: stored[1]!.id.toString(), source_ref: 'b' },
      { id: fresh.id.toString(), source_ref: 'c' },
    ]);
    expect(await db('settlement_account').select('balance_minor', 'item_count').first()).toEqual({
      balance_minor: '305',
      item_count: '3',
    });
  });

  test('a key committed by another transaction after this one began its snapshot is a retriable error, and nothing of the batch stays', async () => {
    const { db, writer } = await pool();
    const trx = await writer.transaction();
    try {
      // The snapshot starts at the first read.
      await trx('billing_item').count({ n: '*' });
      await db.transaction((other) => appendBillingItems(other, [item({ sourceRef: 'raced' })]));
      await expect(
        appendBillingItems(trx, [item({ sourceRef: 'mine' }), item({ sourceRef: 'raced' })]),
      ).rejects.toMatchObject({ code: 'STS_CONCURRENT_WRITE', retriable: true });
    } finally {
      await trx.rollback();
    }
    expect(await db('billing_item').pluck('source_ref')).toEqual(['raced']);
  });

  test('a new item whose id another item holds is an id collision, never a duplicate, and nothing of the batch stays', async () => {
    const { db, writer } = await pool();
    const first = item({ sourceRef: 'first' });
    await writer.transaction((trx) => appendBillingItems(trx, [first]));
    // Another key under a taken id: a generator that minted one id twice. Read as "already
    // booked", the second item's money would be lost without a word.
    const write = writer.transaction((trx) =>
      appendBillingItems(trx, [
        item({ sourceRef: 'other' }),
        { ...item({ sourceRef: 'second' }), id: first.id },
      ]),
    );
    await expect(write).rejects.toMatchObject({
      code: 'STS_ID_COLLISION',
      retriable: false,
      message: expect.stringMatching(/billing_item: a generated id is already taken/),
    });
    expect(await db('billing_item').pluck('source_ref')).toEqual(['first']);
    expect(await db('settlement_account').select('balance_minor', 'item_count').first()).toEqual({
      balance_minor: '100',
      item_count: '1',
    });
  });

  test('fails the batch rather than store a value the column would have to change', async () => {
    const { db, writer } = await pool();
    // Three letters in a two-letter column: LOAD DATA LOCAL would truncate with a warning, and an
    // INSERT fail with 1406. Both paths now refuse it before writing, with one code
    // (runtime/db/column-fit.ts); the LOAD DATA warning check stays behind it.
    const write = writer.transaction((trx) =>
      appendBillingItems(trx, [
        item({ sourceRef: 'ok' }),
        item({ sourceRef: 'long', region: 'SGX' }),
      ]),
    );
    await expect(write).rejects.toMatchObject({
      code: 'STS_LEDGER_TEXT_TOO_LONG',
      retriable: false,
    });
    expect(await db('billing_item').count({ n: '*' }).first()).toEqual({ n: '0' });
  });
});
