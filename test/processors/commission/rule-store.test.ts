import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import type { NewCommissionRule } from '../../../processors/commission/commission-rule';
import { RuleBook } from '../../../processors/commission/rule-book';
import { addRule, findEffectiveRule, listRules } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
let db: Knex;

beforeAll(async () => {
  ({ db } = await r.database());
});

const at = (iso: string) => new Date(iso);
const base = (over: Partial<NewCommissionRule> = {}): NewCommissionRule => ({
  region: 'SG',
  category: 'electronics',
  rateBps: 500,
  effectiveFrom: at('2026-01-01T00:00:00Z'),
  ...over,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof StsError ? err.code : `no StsError: ${String(err)}`;
}

describe('commission rule validation', () => {
  test.each([
    ['a rate above 10000 bps', { rateBps: 10_001 }, /rate_bps must be 0..10000/],
    ['a negative rate', { rateBps: -1 }, /rate_bps must be 0..10000/],
    ['a fractional rate', { rateBps: 2.5 }, /whole number/],
    [
      'min above max',
      { minMinor: 500n, maxMinor: 100n },
      /min \(500\) must not exceed max \(100\)/,
    ],
    ['a negative minimum', { minMinor: -1n }, /min must not be negative/],
    ['a negative maximum', { maxMinor: -1n }, /max must not be negative/],
    [
      'an end before the start',
      { effectiveTo: at('2025-12-31T00:00:00Z') },
      /effective_to must be after effective_from/,
    ],
    [
      'an end equal to the start',
      { effectiveTo: at('2026-01-01T00:00:00Z') },
      /effective_to must be after effective_from/,
    ],
    ['an unknown region', { region: 'XX' }, /region must be one of/],
    [
      'an affiliate share above 10000',
      { affiliateShareBps: 20_000 },
      /affiliate_share_bps must be 0..10000/,
    ],
  ])('refuses %s', async (_name, over, message) => {
    const err = await addRule(db, base({ category: r.unique('invalid'), ...over }), 'test').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StsError);
    expect((err as StsError).code).toBe('STS_COMMISSION_RULE_INVALID');
    expect((err as StsError).message).toMatch(message);
  });

  test('accepts 0 and 10000 bps, and min equal to max', async () => {
    await expect(
      addRule(db, base({ category: r.unique('zero'), rateBps: 0 }), 'test'),
    ).resolves.toMatchObject({ rateBps: 0, version: 1 });
    await expect(
      addRule(
        db,
        base({ category: r.unique('all'), rateBps: 10_000, minMinor: 7n, maxMinor: 7n }),
        'test',
      ),
    ).resolves.toMatchObject({ rateBps: 10_000, minMinor: 7n, maxMinor: 7n });
  });
});

describe('commission rule versions', () => {
  test('numbers versions max+1 per region and category, and refuses any overlap', async () => {
    const category = r.unique('books');
    const v1 = await addRule(
      db,
      base({
        category,
        effectiveTo: at('2026-04-01T00:00:00Z'),
        minMinor: 10n,
        maxMinor: 652024209997893632n,
      }),
      'ops:alice',
    );
    expect(v1).toMatchObject({
      version: 1,
      minMinor: 10n,
      maxMinor: 652024209997893632n,
      createdBy: 'ops:alice',
      affiliateShareBps: 10_000,
    });
    // Back to back: the exclusive end of v1 is the inclusive start of v2.
    const v2 = await addRule(
      db,
      base({ category, rateBps: 600, effectiveFrom: at('2026-04-01T00:00:00Z') }),
      'ops:bob',
    );
    expect(v2.version).toBe(2);
    // Another region or category numbers its own versions.
    expect((await addRule(db, base({ category, region: 'MY' }), 'test')).version).toBe(1);

    for (const [from, to] of [
      ['2026-03-31T23:59:59.999Z', '2026-05-01T00:00:00Z'], // overlaps both by a millisecond
      ['2025-06-01T00:00:00Z', null], // open-ended, covers everything after
      ['2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z'], // inside v1
      ['2030-01-01T00:00:00Z', null], // inside open-ended v2
    ] as const) {
      expect(
        await codeOf(
          addRule(
            db,
            base({ category, effectiveFrom: at(from), effectiveTo: to === null ? null : at(to) }),
            'test',
          ),
        ),
      ).toBe('STS_COMMISSION_RULE_OVERLAP');
    }
    // Before v1 and touching it is fine.
    expect(
      (
        await addRule(
          db,
          base({
            category,
            effectiveFrom: at('2025-01-01T00:00:00Z'),
            effectiveTo: at('2026-01-01T00:00:00Z'),
          }),
          'test',
        )
      ).version,
    ).toBe(3);
    const listed = (await listRules(db, { region: 'SG' })).filter((x) => x.category === category);
    expect(listed.map((x) => x.version)).toEqual([1, 2, 3]);
  });

  test('two concurrent adds of overlapping versions: exactly one wins, the other is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const category = r.unique('race');
      const results = await Promise.allSettled([
        addRule(db, base({ category, rateBps: 100 }), 'a'),
        addRule(
          db,
          base({ category, rateBps: 200, effectiveFrom: at('2026-06-01T00:00:00Z') }),
          'b',
        ),
      ]);
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as StsError).code).toBe('STS_COMMISSION_RULE_OVERLAP');
      expect(await listRules(db, { region: 'SG', category })).toHaveLength(1);
    }
  });

  test('two concurrent adds of disjoint versions both land, as versions 1 and 2', async () => {
    const category = r.unique('disjoint');
    await Promise.all([
      addRule(db, base({ category, effectiveTo: at('2026-02-01T00:00:00Z') }), 'a'),
      addRule(db, base({ category, effectiveFrom: at('2026-02-01T00:00:00Z') }), 'b'),
    ]);
    expect((await listRules(db, { category })).map((x) => x.version)).toEqual([1, 2]);
  });
});

describe('effective rule', () => {
  test("picks the category's version in effect, else the region's '*' default, else none", async () => {
    const category = r.unique('toys');
    const region = 'PH';
    await addRule(db, base({ region, category: '*', rateBps: 200 }), 'test');
    await addRule(
      db,
      base({
        region,
        category,
        rateBps: 300,
        effectiveFrom: at('2026-02-01T00:00:00Z'),
        effectiveTo: at('2026-03-01T00:00:00Z'),
      }),
      'test',
    );
    await addRule(
      db,
      base({ region, category, rateBps: 400, effectiveFrom: at('2026-03-01T00:00:00Z') }),
      'test',
    );

    const rate = async (iso: string, cat = category) =>
      (await findEffectiveRule(db, region, cat, at(iso)))?.rateBps;
    expect(await rate('2025-12-31T23:59:59.999Z')).toBeUndefined(); // before any rule
    expect(await rate('2026-01-15T00:00:00Z')).toBe(200); // only the default yet
    expect(await rate('2026-02-01T00:00:00Z')).toBe(300); // inclusive start
    expect(await rate('2026-02-28T23:59:59.999Z')).toBe(300);
    expect(await rate('2026-03-01T00:00:00Z')).toBe(400); // exclusive end of v1, start of v2
    expect(await rate('2026-03-01T00:00:00Z', 'other')).toBe(200); // another category: the default
  });

  test("a batch's preloaded rules pick the same version as the single lookup, for every order", async () => {
    const category = r.unique('games');
    const region = 'TH';
    await addRule(db, base({ region, category: '*', rateBps: 200 }), 'test');
    await addRule(
      db,
      base({
        region,
        category,
        rateBps: 300,
        effectiveFrom: at('2026-02-01T00:00:00Z'),
        effectiveTo: at('2026-03-01T00:00:00Z'),
      }),
      'test',
    );
    await addRule(
      db,
      base({ region, category, rateBps: 400, effectiveFrom: at('2026-03-01T00:00:00Z') }),
      'test',
    );
    // Boundaries, the '*' fallback, a category that differs only by a trailing space (the
    // database's PAD SPACE collation matches it; the selection compares exactly), and a region
    // with no rule at all.
    const orders = [
      ...[
        '2025-12-31T23:59:59.999Z',
        '2026-01-15T00:00:00Z',
        '2026-02-01T00:00:00Z',
        '2026-02-28T23:59:59.999Z',
        '2026-03-01T00:00:00Z',
      ].flatMap((iso) =>
        [category, `${category} `, 'other'].map((c) => ({
          region,
          category: c,
          occurred_at: at(iso),
        })),
      ),
      { region: 'VN', category, occurred_at: at('2026-03-01T00:00:00Z') },
    ];
    const book = await RuleBook.load(db, orders);
    for (const o of orders) {
      const alone = await findEffectiveRule(db, o.region, o.category, o.occurred_at);
      expect([o, book.effective(o.region, o.category, o.occurred_at)?.id]).toEqual([o, alone?.id]);
    }
    const rates = orders.map((o) => book.effective(o.region, o.category, o.occurred_at)?.rateBps);
    expect(new Set(rates)).toEqual(new Set([undefined, 200, 300, 400]));
  });
});
