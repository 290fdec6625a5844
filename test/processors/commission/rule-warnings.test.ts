import type { Knex } from '../../../runtime/db/knex';
import { CommissionRuleUnconfirmedError } from '../../../processors/commission/commission-errors';
import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import type { NewCommissionRule } from '../../../processors/commission/commission-rule';
import { addRule, listRules } from '../../../processors/commission/rule-store';
import type { RuleWarning } from '../../../processors/commission/rule-warnings';
import { useTestResources } from '../../fixtures/resources';

/**
 * An operator's new rule version is reviewed before it is written: a rate that moves past the bound
 * from the version it replaces, or an effective_from in the past, is a warning that must be
 * confirmed; unconfirmed, nothing is written.
 */
const r = useTestResources();
let db: Knex;
const DAY = 86_400_000;
const NOW = new Date('2026-12-07T12:00:00Z');
const days = (n: number) => new Date(NOW.getTime() + n * DAY);

beforeAll(async () => {
  ({ db } = await r.database());
});

const rule = (over: Partial<NewCommissionRule>): NewCommissionRule => ({
  region: 'SG',
  category: 'electronics',
  rateBps: 500,
  effectiveFrom: days(1),
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<RuleWarning[]> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommissionRuleUnconfirmedError);
  expect((err as CommissionRuleUnconfirmedError).code).toBe('STS_COMMISSION_RULE_UNCONFIRMED');
  return (err as CommissionRuleUnconfirmedError).warnings as RuleWarning[];
}

const versions = async (category: string) =>
  (await listRules(db, { region: 'SG', category })).map((v) => [v.version, v.rateBps]);

test('a rate jump past the bound from the replaced version is refused unconfirmed, written when confirmed; a small change is not a warning', async () => {
  const category = r.unique('jump');
  await addRule(db, rule({ category, rateBps: 500, effectiveTo: days(10) }), 'test');

  const warnings = await refusal(
    addRule(
      db,
      rule({ category, rateBps: 750, effectiveFrom: days(10), effectiveTo: days(20) }),
      'ops:alice',
      { confirmed: false, rateWarnBps: 200, now: NOW },
    ),
  );
  expect(warnings).toEqual([
    expect.objectContaining({
      kind: 'RATE_JUMP',
      replacedVersion: 1,
      replacedRateBps: 500,
      rateBps: 750,
      changeBps: 250,
      boundBps: 200,
    }),
  ]);
  expect(warnings[0]!.message).toMatch(
    /\+250 bps from SG\/.* v1 \(500 bps\), beyond the 200 bps bound/,
  );
  expect(await versions(category)).toEqual([[1, 500]]);

  // Exactly the bound is not past it; a drop counts like a rise.
  await expect(
    addRule(
      db,
      rule({ category, rateBps: 700, effectiveFrom: days(10), effectiveTo: days(20) }),
      'ops:alice',
      { confirmed: false, rateWarnBps: 200, now: NOW },
    ),
  ).resolves.toMatchObject({ version: 2 });
  const drop = await refusal(
    addRule(db, rule({ category, rateBps: 100, effectiveFrom: days(20) }), 'ops:alice', {
      confirmed: false,
      rateWarnBps: 200,
      now: NOW,
    }),
  );
  expect(drop).toEqual([
    expect.objectContaining({ kind: 'RATE_JUMP', replacedVersion: 2, changeBps: -600 }),
  ]);

  const confirmedWith: RuleWarning[][] = [];
  const added = await addRule(
    db,
    rule({ category, rateBps: 100, effectiveFrom: days(20) }),
    'ops:alice',
    {
      confirmed: true,
      rateWarnBps: 200,
      now: NOW,
      onConfirmed: async (_trx, _rule, w) => void confirmedWith.push(w),
    },
  );
  expect(added.version).toBe(3);
  expect(confirmedWith).toEqual([
    [expect.objectContaining({ kind: 'RATE_JUMP', changeBps: -600 })],
  ]);
  expect(await versions(category)).toEqual([
    [1, 500],
    [2, 700],
    [3, 100],
  ]);
});

test("a category's first version is compared with the region's default it replaces", async () => {
  const region = 'TH';
  await addRule(db, { region, category: '*', rateBps: 300, effectiveFrom: days(-400) }, 'test');
  const warnings = await refusal(
    addRule(
      db,
      { region, category: r.unique('books'), rateBps: 1_000, effectiveFrom: days(5) },
      'ops:alice',
      { confirmed: false, now: NOW },
    ),
  );
  // Default bound: 200 bps.
  expect(warnings).toEqual([
    expect.objectContaining({
      kind: 'RATE_JUMP',
      replacedCategory: '*',
      replacedRateBps: 300,
      changeBps: 700,
      boundBps: 200,
    }),
  ]);
});

test('a past effective_from is retroactive: the warning names the period and its closed cycles, and nothing is written unconfirmed', async () => {
  const category = r.unique('retro');
  const from = days(-21);
  const closed = cycleIdFor('SG', days(-14));
  await ensureCycle(db, 'SG', closed);
  await db('settlement_cycle')
    .where({ region: 'SG', cycle_id: closed.toString() })
    .update({ status: 'CLOSED' });

  const warnings = await refusal(
    addRule(db, rule({ category, rateBps: 500, effectiveFrom: from }), 'ops:alice', {
      confirmed: false,
      now: NOW,
    }),
  );
  expect(warnings).toEqual([
    expect.objectContaining({
      kind: 'RETROACTIVE',
      from: from.toISOString(),
      until: NOW.toISOString(),
      firstCycle: cycleIdFor('SG', from).toString(),
      lastCycle: cycleIdFor('SG', NOW).toString(),
      closedCycles: [closed.toString()],
    }),
  ]);
  expect(warnings[0]!.message).toMatch(
    /is in the past: .* were already charged with the earlier rule and are not recomputed/,
  );
  expect(warnings[0]!.message).toMatch(/1 of them closed and paid/);
  expect(await versions(category)).toEqual([]);

  // A version that ended in the past covers only its own dates.
  const ended = await refusal(
    addRule(db, rule({ category, effectiveFrom: days(-60), effectiveTo: days(-50) }), 'ops:alice', {
      confirmed: false,
      now: NOW,
    }),
  );
  expect(ended[0]).toMatchObject({
    kind: 'RETROACTIVE',
    until: days(-50).toISOString(),
    closedCycles: [],
  });

  // Both warnings at once, confirmed together.
  await addRule(
    db,
    rule({ category, rateBps: 500, effectiveFrom: days(-30), effectiveTo: from }),
    'test',
  );
  const both = await refusal(
    addRule(db, rule({ category, rateBps: 2_000, effectiveFrom: from }), 'ops:alice', {
      confirmed: false,
      now: NOW,
    }),
  );
  expect(both.map((w) => w.kind)).toEqual(['RATE_JUMP', 'RETROACTIVE']);
  await expect(
    addRule(db, rule({ category, rateBps: 2_000, effectiveFrom: from }), 'ops:alice', {
      confirmed: true,
      now: NOW,
    }),
  ).resolves.toMatchObject({ version: 2, rateBps: 2_000 });
});

test('without a review (seeding, tests) a rule is written as before, warnings or not', async () => {
  const category = r.unique('seed');
  await expect(
    addRule(db, rule({ category, effectiveFrom: days(-100) }), 'test'),
  ).resolves.toMatchObject({ version: 1 });
});
