import fc from 'fast-check';
import type { Knex } from 'knex';
import { appendBillingItems, BalanceIncrements, type AppendResult, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import { moneyBounds, resetMoneyBoundsForTests } from '../../runtime/money/money-bounds';
import { useTestResources } from '../fixtures/resources';
import { FUZZ_RUNS, fuzzParams } from './fuzz-runs';

/**
 * Random sets of amounts through the real billing ledger into a real MariaDB: small ones, ones at
 * and just past the item bound, near 2^53 and near 2^63, in batches of several appends per
 * transaction, with keys sent again. Against a model that books the items one at a time:
 *   - every item is applied exactly, a duplicate, or refused with the model's reason code;
 *   - each balance and item count is the exact bigint sum of the applied items;
 *   - no balance leaves ±maxPayoutMinor;
 *   - no other account and no other row is touched.
 * SGD keeps the default bounds (10^16-1 an item, 10^17-1 a balance), so int64 and 2^53 edges are
 * real amounts; MYR gets small bounds so that balances cross them in most runs.
 */
const r = useTestResources();
const SG_CYCLE = 20261116n;
const MY_CYCLE = 20261116n;
const SENTINEL = 652024209990000001n;

let db: Knex;
let nextId = 930000000000000000n;
let nextSeller = 652024209990001000n;
const previousBounds = process.env.STS_MONEY_BOUNDS;

beforeAll(async () => {
  process.env.STS_MONEY_BOUNDS = 'MYR:item=1000,payout=5000';
  resetMoneyBoundsForTests();
  ({ db } = await r.database());
  await db('settlement_account').insert({ region: 'SG', shop_user_id: SENTINEL.toString(), currency: 'SGD', cycle_id: SG_CYCLE.toString(), balance_minor: '-4242', item_count: 3 });
}, 60_000);

afterAll(() => {
  if (previousBounds === undefined) delete process.env.STS_MONEY_BOUNDS;
  else process.env.STS_MONEY_BOUNDS = previousBounds;
  resetMoneyBoundsForTests();
});

const P53 = 2n ** 53n;
const P63 = 2n ** 63n;
const SG_ITEM = 10n ** 16n - 1n;

/**
 * Amounts for one currency: extremes and their neighbours, and anything in between, leaning
 * positive so that balances do reach the payout bound.
 */
const amountFor = (region: 'SG' | 'MY'): fc.Arbitrary<bigint> => {
  const near = (x: bigint) => fc.integer({ min: -3, max: 3 }).map((d) => x + BigInt(d));
  const signed = (a: fc.Arbitrary<bigint>) => fc.tuple(a, fc.boolean()).map(([v, neg]) => (neg ? -v : v));
  const below = (x: bigint) => fc.bigInt({ min: 0n, max: 3n }).map((d) => x - d);
  if (region === 'MY') {
    return fc.oneof(
      { arbitrary: fc.bigInt({ min: 600n, max: 1000n }), weight: 5 },
      { arbitrary: signed(near(1000n)), weight: 1 },
      { arbitrary: fc.bigInt({ min: -1000n, max: 0n }), weight: 2 },
      { arbitrary: signed(near(P53)), weight: 1 },
    );
  }
  return fc.oneof(
    { arbitrary: below(SG_ITEM), weight: 8 },
    { arbitrary: below(SG_ITEM).map((v) => -v), weight: 1 },
    { arbitrary: signed(near(SG_ITEM + 1n)), weight: 1 },
    { arbitrary: signed(near(P53 + 1n)), weight: 1 },
    { arbitrary: fc.constantFrom(P63 - 1n, -P63, -(P63 - 1n), P63 - 2n), weight: 1 },
    { arbitrary: fc.bigInt({ min: -SG_ITEM, max: SG_ITEM }), weight: 1 },
    { arbitrary: fc.bigInt({ min: -1000n, max: 1000n }), weight: 1 },
  );
};

interface GenItem {
  region: 'SG' | 'MY';
  seller: number;
  amount: bigint;
  /** Send again the item generated at this index (same key and content), if there is one. */
  resend: number | null;
}

const genItem: fc.Arbitrary<GenItem> = fc.constantFrom<'SG' | 'MY'>('SG', 'MY').chain((region) =>
  fc.record({
    region: fc.constant(region),
    seller: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 1 }),
    amount: amountFor(region),
    resend: fc.option(fc.nat({ max: 40 }), { freq: 6 }),
  }),
);

/**
 * Transactions (each with its balances written once at the end, or by each append), each a list
 * of appends of items; and whether the run's amounts are negated, so that balances press against
 * the lower bound as often as against the upper one.
 */
const genRun = fc.tuple(fc.boolean(), fc.array(fc.tuple(fc.boolean(), fc.array(fc.array(genItem, { minLength: 4, maxLength: 30 }), { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 4 }));

type Outcome = 'inserted' | 'duplicate' | 'AMOUNT_OUT_OF_BOUNDS' | 'BALANCE_LIMIT';

const abs = (n: bigint) => (n < 0n ? -n : n);
const accountKey = (it: BillingItemInput) => `${it.region}|${it.shopUserId}`;

test('every amount is applied exactly or refused with its reason; balances stay within the payout bound; nothing else moves', async () => {
  const seen = new Map<Outcome, number>();
  await fc.assert(
    fc.asyncProperty(genRun, async ([negate, run]) => {
      const sellers = [nextSeller++, nextSeller++, nextSeller++];
      const [{ before }] = (await db('billing_item').count({ before: '*' })) as [{ before: string }];
      const made: BillingItemInput[] = [];
      // The model: what is booked, per key, and each account's balance and count.
      const booked = new Map<string, BillingItemInput>();
      const balance = new Map<string, { balance: bigint; count: number }>();
      const keyOf = (it: BillingItemInput) => `${it.region}|${it.sourceRef}`;

      for (const [deferred, tx] of run) {
        const appends = tx.map((list) =>
          list.map((g): BillingItemInput => {
            const again = g.resend !== null ? made[g.resend] : undefined;
            const it: BillingItemInput = again
              ? { ...again, id: nextId++ }
              : {
                  id: nextId++,
                  region: g.region,
                  shopUserId: sellers[g.seller]!,
                  currency: g.region === 'SG' ? 'SGD' : 'MYR',
                  amountMinor: negate ? -g.amount : g.amount,
                  itemType: 'ADJUSTMENT',
                  source: 'FUZZ',
                  sourceRef: `f-${nextId}`,
                  cycleId: g.region === 'SG' ? SG_CYCLE : MY_CYCLE,
                };
            if (!again) made.push(it);
            return it;
          }),
        );

        // Expected outcomes, booking one at a time; a key repeated within one append shares the
        // fate of its first occurrence there, as the ledger judges a repeat against its first.
        const pending = new Map(booked);
        const pendingBalance = new Map([...balance].map(([k, v]) => [k, { ...v }]));
        const expected = appends.map((list) => {
          const firstFate = new Map<string, Outcome>();
          return list.map((it): Outcome => {
            const k = keyOf(it);
            const shared = firstFate.get(k);
            if (shared !== undefined) return shared === 'inserted' ? 'duplicate' : shared;
            let fate: Outcome;
            if (pending.has(k)) fate = 'duplicate';
            else if (abs(it.amountMinor) > moneyBounds(it.currency).maxItemMinor) fate = 'AMOUNT_OUT_OF_BOUNDS';
            else {
              const acc = pendingBalance.get(accountKey(it)) ?? { balance: 0n, count: 0 };
              const next = acc.balance + it.amountMinor;
              const bound = moneyBounds(it.currency).maxPayoutMinor;
              if (abs(next) > bound && abs(next) > abs(acc.balance)) fate = 'BALANCE_LIMIT';
              else {
                fate = 'inserted';
                pending.set(k, it);
                pendingBalance.set(accountKey(it), { balance: next, count: acc.count + 1 });
              }
            }
            firstFate.set(k, fate);
            return fate;
          });
        });

        // Balances written once per transaction (upload ingestion), or by each append (the others).
        const results: AppendResult[] = await db.transaction(async (trx) => {
          const balances = deferred ? new BalanceIncrements() : undefined;
          const out: AppendResult[] = [];
          for (const list of appends) out.push(await appendBillingItems(trx, list, { balances }));
          await balances?.apply(trx);
          return out;
        });

        results.forEach((res, i) => {
          const fate = new Map<BillingItemInput, Outcome>();
          for (const it of res.inserted) fate.set(it, 'inserted');
          for (const it of res.duplicates) fate.set(it, 'duplicate');
          for (const x of res.refused) {
            expect(x.reason.length).toBeGreaterThan(0);
            fate.set(x.item, x.code);
          }
          expect(res.conflicts).toEqual([]);
          expect(appends[i]!.map((it) => fate.get(it))).toEqual(expected[i]);
          for (const f of expected[i]!) seen.set(f, (seen.get(f) ?? 0) + 1);
        });
        for (const [k, v] of pending) booked.set(k, v);
        for (const [k, v] of pendingBalance) balance.set(k, v);
      }

      // The database against the model: accounts, and the rows of these sellers.
      const ids = sellers.map(String);
      const accounts = (await db('settlement_account').whereIn('shop_user_id', ids).select('region', 'shop_user_id', 'currency', 'balance_minor', 'item_count')) as Array<{
        region: string;
        shop_user_id: string;
        currency: string;
        balance_minor: string;
        item_count: string;
      }>;
      const actual = new Map(accounts.map((a) => [`${a.region}|${a.shop_user_id}`, { balance: BigInt(a.balance_minor), count: Number(a.item_count) }]));
      expect(actual).toEqual(new Map([...balance].filter(([, v]) => v.count > 0)));
      for (const a of accounts) expect(abs(BigInt(a.balance_minor))).toBeLessThanOrEqual(moneyBounds(a.currency).maxPayoutMinor);
      const rows = (await db('billing_item').whereIn('shop_user_id', ids).select('region', 'source_ref', 'amount_minor')) as Array<{ region: string; source_ref: string; amount_minor: string }>;
      expect(new Map(rows.map((x) => [`${x.region}|${x.source_ref}`, BigInt(x.amount_minor)]))).toEqual(new Map([...booked].map(([k, v]) => [k, v.amountMinor])));

      // Nothing else: the sentinel account as it was, and no row of any other seller.
      expect(await db('settlement_account').where({ shop_user_id: SENTINEL.toString() }).first('balance_minor', 'item_count')).toEqual({ balance_minor: '-4242', item_count: '3' });
      const [{ after }] = (await db('billing_item').count({ after: '*' })) as [{ after: string }];
      expect(Number(after) - Number(before)).toBe(rows.length);
    }),
    fuzzParams('money bounds through the ledger'),
  );
  // The generator reaches every outcome, or the property proves less than it says.
  process.stdout.write(`money property outcomes: ${JSON.stringify(Object.fromEntries(seen))}\n`);
  if (FUZZ_RUNS >= 30) for (const f of ['inserted', 'duplicate', 'AMOUNT_OUT_OF_BOUNDS', 'BALANCE_LIMIT'] as const) expect(seen.get(f) ?? 0).toBeGreaterThan(0);
}, 600_000);
