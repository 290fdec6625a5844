import { cycleIdFor, nextCycleId } from '../../../runtime/billing/cycle-calendar';
import { CycleResolver } from '../../../runtime/billing/cycle-resolver';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { addRule } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import {
  AFFILIATE,
  ORDER_BASE,
  SELLER,
  balanceOf,
  commissionItems,
  commissionSetup,
  drain,
  produce,
  readDlq,
  request,
  type CommissionEnv,
} from '../../fixtures/commission-setup';

const r = useTestResources();
const FROM = new Date('2026-01-01T00:00:00Z');

async function defaultRules(env: CommissionEnv) {
  // '*': 2.5%, the affiliate gets the whole fee. electronics: 5%, 1.00..500.00 SGD, affiliate 40%.
  await addRule(env.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: FROM }, 'test');
  await addRule(
    env.db,
    {
      region: 'SG',
      category: 'electronics',
      rateBps: 500,
      minMinor: 100n,
      maxMinor: 50_000n,
      affiliateShareBps: 4_000,
      effectiveFrom: FROM,
    },
    'test',
  );
}

describe('commission processor', () => {
  test('charges the seller the fee, credits the affiliate its share, and a full redelivery adds nothing', async () => {
    const env = await commissionSetup(r);
    await defaultRules(env);
    const noAffiliate = request({
      request_id: 'evt-c1',
      order_id: ORDER_BASE + 1n,
      amount_minor: 123_457n,
    });
    const fallback = request({
      request_id: 'evt-c2',
      order_id: ORDER_BASE + 2n,
      category: 'books',
      amount_minor: 10_000n,
      affiliate_user_id: AFFILIATE,
    });
    const capped = request({
      request_id: 'evt-c3',
      order_id: ORDER_BASE + 3n,
      amount_minor: 100_000_000n,
      affiliate_user_id: AFFILIATE,
    });
    // The same request twice on the topic, as a producer retry or an outbox relay replay would do.
    await produce(r, env, [noAffiliate, fallback, capped, fallback]);
    await drain(r, env);

    const items = await commissionItems(env.db);
    expect(
      items.map((i) => [i.source_ref, i.item_type, i.shop_user_id, i.amount_minor, i.order_id]),
    ).toEqual([
      ['evt-c1:FEE', 'COMMISSION_FEE', SELLER.toString(), '-6173', (ORDER_BASE + 1n).toString()], // 5% of 1234.57
      ['evt-c2:FEE', 'COMMISSION_FEE', SELLER.toString(), '-250', (ORDER_BASE + 2n).toString()], // '*' 2.5%
      [
        'evt-c2:AFFILIATE',
        'AFFILIATE_COMMISSION',
        AFFILIATE.toString(),
        '250',
        (ORDER_BASE + 2n).toString(),
      ],
      ['evt-c3:FEE', 'COMMISSION_FEE', SELLER.toString(), '-50000', (ORDER_BASE + 3n).toString()], // capped
      [
        'evt-c3:AFFILIATE',
        'AFFILIATE_COMMISSION',
        AFFILIATE.toString(),
        '20000',
        (ORDER_BASE + 3n).toString(),
      ], // 40%
    ]);
    expect(await balanceOf(env.db, SELLER)).toBe(-(6173n + 250n + 50_000n));
    expect(await balanceOf(env.db, AFFILIATE)).toBe(250n + 20_000n);
    const charge = await env
      .db('commission_charge')
      .where({ region: 'SG', order_id: ORDER_BASE + 3n })
      .first();
    expect(charge).toMatchObject({
      rule_category: 'electronics',
      rule_version: 1,
      order_amount_minor: '100000000',
      fee_minor: '50000',
      affiliate_credit_minor: '20000',
    });

    // A second group replays the whole topic from offset 0: every request is a redelivery now.
    await drain(r, env, r.group('commission-replay'));
    expect(await commissionItems(env.db)).toEqual(items);
    expect(await balanceOf(env.db, SELLER)).toBe(-56_423n);
  });

  test('partial refunds return the fee and the affiliate credit in proportion, adding up to the full amounts and never beyond', async () => {
    const env = await commissionSetup(r);
    await addRule(
      env.db,
      {
        region: 'SG',
        category: '*',
        rateBps: 1_000,
        affiliateShareBps: 5_000,
        effectiveFrom: FROM,
      },
      'test',
    );
    const order = ORDER_BASE + 10n;
    const refund = (n: number, amount: bigint) =>
      request({
        request_id: `evt-r${n}`,
        kind: 'CLAWBACK',
        order_id: order,
        amount_minor: amount,
        affiliate_user_id: n === 1 ? AFFILIATE : null,
        occurred_at: new Date('2026-03-05T05:00:00Z'),
      });
    // Fee 10% of 10.01 = 100 minor units, the affiliate's half 50. Refunds 3.33 + 3.33 + 3.35 = the
    // whole order, then a stray 1.00 more; the second refund is delivered twice.
    await produce(r, env, [
      request({
        request_id: 'evt-charge',
        order_id: order,
        amount_minor: 1_001n,
        affiliate_user_id: AFFILIATE,
      }),
      refund(1, 333n),
      refund(2, 333n),
      refund(2, 333n),
      refund(3, 335n),
      refund(4, 100n),
    ]);
    await drain(r, env);

    const items = await commissionItems(env.db);
    expect(items.map((i) => [i.source_ref, i.amount_minor])).toEqual([
      ['evt-charge:FEE', '-100'],
      ['evt-charge:AFFILIATE', '50'],
      ['evt-r1:FEE_CLAWBACK', '33'],
      ['evt-r1:AFFILIATE_CLAWBACK', '-17'],
      ['evt-r2:FEE_CLAWBACK', '34'],
      ['evt-r2:AFFILIATE_CLAWBACK', '-16'],
      ['evt-r3:FEE_CLAWBACK', '33'],
      ['evt-r3:AFFILIATE_CLAWBACK', '-17'],
    ]);
    expect(
      items
        .filter((i) => i.source_ref.endsWith(':FEE_CLAWBACK'))
        .every((i) => i.item_type === 'COMMISSION_FEE_CLAWBACK'),
    ).toBe(true);
    expect(await balanceOf(env.db, SELLER)).toBe(0n);
    expect(await balanceOf(env.db, AFFILIATE)).toBe(0n);
    const charge = await env
      .db('commission_charge')
      .where({ region: 'SG', order_id: order })
      .first();
    expect(charge).toMatchObject({
      refunded_minor: '1101',
      fee_clawed_back_minor: '100',
      affiliate_clawed_back_minor: '50',
    });
    expect(Number((await env.db('commission_clawback').count({ n: '*' }).first())?.n)).toBe(4);
  });

  test('an order of a closed cycle lands late in the next open cycle', async () => {
    const env = await commissionSetup(r);
    await defaultRules(env);
    const at = new Date('2026-03-04T05:00:00Z');
    const natural = cycleIdFor('SG', at);
    await env.db.transaction((trx) => new CycleResolver(trx).resolve('SG', at));
    await env
      .db('settlement_cycle')
      .where({ region: 'SG', cycle_id: natural })
      .update({ status: 'CLOSED' });
    await produce(r, env, [
      request({
        request_id: 'evt-late',
        order_id: ORDER_BASE + 20n,
        occurred_at: at,
        affiliate_user_id: AFFILIATE,
      }),
    ]);
    await drain(r, env);

    const items = await commissionItems(env.db);
    expect(items).toHaveLength(2);
    for (const item of items)
      expect(item).toMatchObject({ cycle_id: nextCycleId('SG', natural).toString(), late: 1 });
  });

  test('dead-letters what it cannot apply, with a code saying why, and applies the rest', async () => {
    const env = await commissionSetup(r);
    await defaultRules(env);
    await addRule(
      env.db,
      { region: 'MY', category: 'books', rateBps: 100, effectiveFrom: FROM },
      'test',
    );
    const bad = [
      // A refund whose order was never charged here: not guessed from today's rule.
      [
        request({ request_id: 'evt-orphan', kind: 'CLAWBACK', order_id: ORDER_BASE + 30n }),
        'STS_COMMISSION_CHARGE_UNKNOWN',
      ],
      // No MY rule for toys and no MY '*' default.
      [
        request({
          request_id: 'evt-norule',
          order_id: ORDER_BASE + 31n,
          region: 'MY',
          currency: 'MYR',
          category: 'toys',
        }),
        'STS_COMMISSION_RULE_MISSING',
      ],
      [
        request({ request_id: 'evt-currency', order_id: ORDER_BASE + 32n, currency: 'MYR' }),
        'STS_VALIDATION_FAILED',
      ],
      [
        request({ request_id: 'evt-region', order_id: ORDER_BASE + 33n, region: 'XX' }),
        'STS_VALIDATION_FAILED',
      ],
      // A second CHARGE of an already charged order, under another request id.
      [request({ request_id: 'evt-again', order_id: ORDER_BASE + 34n }), 'STS_COMMISSION_CONFLICT'],
    ] as const;
    await produce(r, env, [
      request({ request_id: 'evt-ok', order_id: ORDER_BASE + 34n }),
      ...bad.map(([req]) => req),
    ]);
    await drain(r, env);

    expect((await commissionItems(env.db)).map((i) => i.source_ref)).toEqual(['evt-ok:FEE']);
    const letters = await readDlq(r, env.dlq, bad.length);
    const codes = new Map(
      letters.map((m) => [
        m.headers?.[DLQ_HEADERS.offset]?.toString(),
        m.headers?.[DLQ_HEADERS.code]?.toString(),
      ]),
    );
    expect([...codes.values()].sort()).toEqual(bad.map(([, code]) => code).sort());
    expect(codes.get('1')).toBe('STS_COMMISSION_CHARGE_UNKNOWN');
  });
});
