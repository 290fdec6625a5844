import type { Knex } from '../../../runtime/db/knex';
import { chargesQuery } from '../../../processors/commission/charge-store';
import { clawbacksQuery } from '../../../processors/commission/clawback-store';
import { rulesQuery } from '../../../processors/commission/rule-book';
import { addRule, effectiveRuleQuery } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import { ORDER_BASE, commissionSetup, drain, produce, request } from '../../fixtures/commission-setup';

const r = useTestResources();
const FROM = new Date('2026-01-01T00:00:00Z');

describe('commission hot queries', () => {
  /** EXPLAIN of the query exactly as sent: bigint bindings stay numbers, never quoted strings. */
  async function plan(
    db: Knex,
    q: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } },
  ): Promise<{ key: string | null; type: string }> {
    const { sql, bindings } = q.toSQL().toNative();
    const [rows] = (await db.raw(`EXPLAIN ${sql}`, bindings as never)) as [
      Array<{ key: string | null; type: string }>,
    ];
    return rows[0]!;
  }

  test("a batch's charge, clawback and rule reads use their keys, one range per region", async () => {
    const env = await commissionSetup(r);
    // Many categories, so a batch's few pairs are a small part of the table, as in production.
    const categories = [
      '*',
      'electronics',
      'books',
      'toys',
      ...Array.from({ length: 8 }, (_, i) => `c${i}`),
    ];
    for (const region of ['SG', 'MY']) {
      for (const category of categories) {
        for (let year = 2020; year < 2026; year++) {
          await addRule(
            env.db,
            {
              region,
              category,
              rateBps: 100,
              effectiveFrom: new Date(Date.UTC(year, 0, 1)),
              effectiveTo: new Date(Date.UTC(year + 1, 0, 1)),
            },
            'test',
          );
        }
      }
    }
    const orderOf = (n: bigint) => ({
      order_id: ORDER_BASE + n,
      category: 'books',
      occurred_at: new Date('2025-06-01T00:00:00Z'),
    });
    const charges = [1n, 2n, 3n].map((n) => request({ request_id: `evt-${n}`, ...orderOf(n) }));
    const refunds = [1n, 2n, 3n].map((n) =>
      request({ request_id: `evt-r${n}`, kind: 'CLAWBACK', amount_minor: 100n, ...orderOf(n) }),
    );
    await produce(r, env, [...charges, ...refunds]);
    await drain(r, env);

    const orders = [
      { region: 'SG', value: ORDER_BASE + 2n },
      { region: 'SG', value: ORDER_BASE + 3n },
      { region: 'MY', value: ORDER_BASE + 9n },
    ];
    for (const lock of [false, true])
      expect(await plan(env.db, chargesQuery(env.db, orders, { lock }))).toMatchObject({
        key: 'PRIMARY',
        type: 'range',
      });
    // Enough rows that a full scan is no longer the cheaper plan, as in production.
    await env.db('commission_clawback').insert(
      Array.from({ length: 500 }, (_, i) => ({
        region: i % 2 === 0 ? 'SG' : 'MY',
        request_id: `evt-filler-${i}`,
        order_id: ORDER_BASE + 1_000n + BigInt(i),
        refund_amount_minor: 1n,
        fee_clawback_minor: 0n,
        affiliate_clawback_minor: 0n,
      })),
    );
    const refundKeys = [
      { region: 'SG', value: 'evt-r1' },
      { region: 'SG', value: 'evt-r3' },
      { region: 'MY', value: 'evt-r2' },
    ];
    expect(await plan(env.db, clawbacksQuery(env.db, refundKeys))).toMatchObject({
      key: 'PRIMARY',
      type: 'range',
    });
    const at = new Date('2025-06-01T00:00:00Z');
    const rules = rulesQuery(env.db, [
      { region: 'SG', category: 'books', occurred_at: at },
      { region: 'MY', category: 'toys', occurred_at: at },
    ]);
    expect(await plan(env.db, rules)).toMatchObject({
      key: 'uq_commission_rule_version',
      type: 'range',
    });
    expect((await plan(env.db, effectiveRuleQuery(env.db, 'SG', 'electronics', FROM))).key).toBe(
      'uq_commission_rule_version',
    );
  });
});
