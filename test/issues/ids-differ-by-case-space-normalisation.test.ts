import { createDb } from '../../runtime/db/knex';
import { appendBillingItems, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import type { OrderEvent } from '../../contracts/order-event';
import { useTestResources } from '../fixtures/resources';
import { aggregationSetup } from '../fixtures/aggregation-harness';
import { startIngestion, uploadInto, uploadSetup, waitForUpload } from '../fixtures/upload-harness';

/**
 * Ids JavaScript sees as different are different in the database. Under the server default
 * collation (utf8mb4_general_ci) 'abc', 'ABC' and 'abc ' were one unique key, so the second item
 * was turned away by the key, the ledger found no row with its exact ref, and raised the
 * retriable STS_CONCURRENT_WRITE on every retry: the partition stalled. NFC and NFD forms of one
 * word are different bytes and stay two ids too (nothing is normalised on the way in).
 */
const r = useTestResources();
const SELLER = 652024209997893632n;
const NFC = 'caf\u00e9';
const NFD = 'cafe\u0301';
let nextId = 920000000000000000n;

const item = (sourceRef: string, over: Partial<BillingItemInput> = {}): BillingItemInput => ({
  id: nextId++,
  region: 'SG',
  shopUserId: SELLER,
  currency: 'SGD',
  amountMinor: 100n,
  itemType: 'ADJUSTMENT',
  source: 'UPLOAD',
  sourceRef,
  orderId: null,
  cycleId: 20261116n,
  memo: null,
  ...over,
});

describe.each([
  ['LOAD DATA', true],
  ['INSERT', false],
])('the ledger through %s', (_path, localInfile) => {
  test('refs that differ only by case, a trailing space or normalisation are distinct items, and a key looks up exactly its own row', async () => {
    const { url } = await r.database();
    const db = createDb(url, { localInfile });
    r.defer(() => db.destroy());
    const refs = ['abc', 'ABC', 'abc ', 'Abc', NFC, NFD, `${NFC} `];
    const first = await db.transaction((trx) => appendBillingItems(trx, refs.map((ref, i) => item(ref, { amountMinor: BigInt(100 + i) }))));
    expect(first.inserted.map((x) => x.sourceRef)).toEqual(refs);
    const stored = (await db('billing_item').orderBy('amount_minor').pluck('source_ref')) as string[];
    expect(stored).toEqual(refs);

    // A redelivery of each is a duplicate of exactly its own row; a different amount under one of
    // the keys is a conflict with that key's row, and the others are untouched.
    const again = await db.transaction((trx) => appendBillingItems(trx, refs.map((ref, i) => item(ref, { amountMinor: BigInt(100 + i) }))));
    expect([again.inserted.length, again.duplicates.map((x) => x.sourceRef)]).toEqual([0, refs]);
    const changed = await db.transaction((trx) => appendBillingItems(trx, [item('ABC', { amountMinor: 999n }), item(`${NFD}`, { amountMinor: 105n })]));
    expect(changed.conflicts.map((c) => [c.item.sourceRef, c.existing.source_ref, c.existing.amount_minor])).toEqual([['ABC', 'ABC', '101']]);
    expect(changed.duplicates.map((x) => x.sourceRef)).toEqual([NFD]);
    expect(await db('billing_item').where({ source_ref: 'abc' }).pluck('amount_minor')).toEqual(['100']);
    expect(await db('billing_item').where({ source_ref: NFD }).pluck('amount_minor')).toEqual(['105']);
    const [{ balance }] = (await db('settlement_account').sum({ balance: 'balance_minor' })) as [{ balance: string }];
    expect(String(balance)).toBe(String(refs.reduce((s, _r, i) => s + 100 + i, 0)));
  });
});

test('an upload whose external refs differ only by case or normalisation completes with every row its own item', async () => {
  const s = await uploadSetup(r, 1);
  const p = r.unique('cx');
  const refs = [`${p}-abc`, `${p}-ABC`, `${p}-Abc`, `${p}-${NFC}`, `${p}-${NFD}`];
  const csv = ['external_ref,shop_user_id,region,currency,amount,item_type,memo', ...refs.map((ref, i) => `${ref},${SELLER},SG,SGD,1.0${i},ADJUSTMENT,row ${i}`)].join('\n');
  const intake = await uploadInto(s, Buffer.from(`${csv}\n`, 'utf8'));
  await startIngestion(r, s);
  const final = await waitForUpload(s, intake.uploadId);
  expect([final.status, final.acceptedRows, final.rejectedRows]).toEqual(['COMPLETED', BigInt(refs.length), 0n]);
  const rows = (await s.db('billing_item').where({ source: 'UPLOAD' }).orderBy('amount_minor').select('source_ref', 'memo')) as Array<{ source_ref: string; memo: string }>;
  expect(rows).toEqual(refs.map((ref, i) => ({ source_ref: ref, memo: `row ${i}` })));
});

test('order events whose ids differ only by case or normalisation are each applied once; the partition never stalls', async () => {
  const s = await aggregationSetup(r);
  const p = r.unique('ox');
  let order = 730000000000000000n;
  const event = (id: string): OrderEvent => ({
    event_id: id,
    event_type: 'ORDER_ADJUSTED',
    order_id: order++,
    shop_user_id: SELLER,
    region: 'SG',
    currency: 'SGD',
    amount_minor: 10n,
    category: 'books',
    affiliate_user_id: null,
    occurred_at: new Date(),
  });
  const ids = [`${p}-abc`, `${p}-ABC`, `${p}-${NFC}`, `${p}-${NFD}`];
  // Each twice: the redelivery is a duplicate of exactly its own item.
  await s.produce([...ids, ...ids].map(event).map((e, i) => ({ ...e, order_id: 730000000000000000n + BigInt(i % ids.length) })));
  await s.start();
  await s.drained();
  const refs = ((await s.db('billing_item').where({ source: 'ORDER' }).pluck('source_ref')) as string[]).sort();
  expect(refs).toEqual([...ids].sort());
});
