import type { Knex } from '../../runtime/db/knex';
import { chargeQuery } from '../../processors/commission/charge-store';
import { addRule, effectiveRuleQuery } from '../../processors/commission/rule-store';
import { useTestResources } from '../helpers/resources';
import { ORDER_BASE, commissionSetup, drain, produce, request } from './commission-setup';

const r = useTestResources();
const FROM = new Date('2026-01-01T00:00:00Z');

describe('commission hot queries', () => {
  /** EXPLAIN of the query exactly as sent: bigint bindings stay numbers, never quoted strings. */
  async function planKey(
    db: Knex,
    q: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } },
  ): Promise<string | null | undefined> {
    const { sql, bindings } = q.toSQL().toNative();
    const [plan] = (await db.raw(`EXPLAIN ${sql}`, bindings as never)) as [
      Array<{ key: string | null }>,
    ];
    return plan[0]?.key;
  }

  test('the charge lookup uses the primary key and the rule lookup the version key', async () => {
    const env = await commissionSetup(r);
    for (const category of ['*', 'electronics', 'books', 'toys', 'garden']) {
      for (let year = 2020; year < 2026; year++) {
        await addRule(
          env.db,
          {
            region: 'SG',
            category,
            rateBps: 100,
            effectiveFrom: new Date(Date.UTC(year, 0, 1)),
            effectiveTo: new Date(Date.UTC(year + 1, 0, 1)),
          },
          'test',
        );
      }
    }
    await produce(
      r,
      env,
      [1n, 2n, 3n].map((n) =>
        request({
          request_id: `evt-${n}`,
          order_id: ORDER_BASE + n,
          category: 'books',
          occurred_at: new Date('2025-06-01T00:00:00Z'),
        }),
      ),
    );
    await drain(r, env);
    expect(await planKey(env.db, chargeQuery(env.db, 'SG', ORDER_BASE + 2n, true))).toBe('PRIMARY');
    expect(await planKey(env.db, effectiveRuleQuery(env.db, 'SG', 'electronics', FROM))).toBe(
      'uq_commission_rule_version',
    );
  });
});
