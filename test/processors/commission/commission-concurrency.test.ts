import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import { SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease } from '../../../runtime/ids/worker-lease';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { CycleResolver } from '../../../runtime/billing/cycle-resolver';
import { applyCommissionBatch } from '../../../processors/commission/commission-items';
import type { CommissionRequest } from '../../../contracts/commission-request';
import { addRule } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import { AFFILIATE, ORDER_BASE, SELLER, balanceOf, request } from '../../fixtures/commission-setup';

const r = useTestResources();

/**
 * One request applied as the processor applies a batch, retrying what the runtime would retry
 * (a retriable StsError, a deadlock). Returns how many billing items it inserted.
 */
async function apply(db: Knex, ids: SnowflakeGenerator, req: CommissionRequest): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (trx) => {
        const deps = { resolver: new CycleResolver(trx), nextId: () => ids.next() };
        const items = await applyCommissionBatch(trx, [req], deps);
        return (await appendBillingItems(trx, items)).inserted.length;
      });
    } catch (err) {
      const retriable =
        (err instanceof StsError && err.retriable) || (err as { errno?: number }).errno === 1213;
      if (!retriable || attempt >= 10) throw err;
    }
  }
}

test('two consumers applying the same requests at once (a zombie after a rebalance) charge and claw back once, and concurrent refunds of one order add up', async () => {
  const { db } = await r.database();
  const lease = await WorkerLease.acquire(db, { datacenterId: 6, owner: 'test-commission-race' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  await addRule(
    db,
    {
      region: 'SG',
      category: '*',
      rateBps: 1_000,
      effectiveFrom: new Date('2026-01-01T00:00:00Z'),
    },
    'test',
  );

  for (let round = 0n; round < 5n; round++) {
    const order = ORDER_BASE + 100n + round;
    const charge = request({
      request_id: `evt-c-${round}`,
      order_id: order,
      amount_minor: 1_000n,
      affiliate_user_id: AFFILIATE,
    });
    const refund = request({
      request_id: `evt-r-${round}`,
      kind: 'CLAWBACK',
      order_id: order,
      amount_minor: 400n,
    });
    // Both items once (fee and affiliate credit), and nothing from the twin.
    expect((await Promise.all([apply(db, ids, charge), apply(db, ids, charge)])).sort()).toEqual([
      0, 2,
    ]);
    expect((await Promise.all([apply(db, ids, refund), apply(db, ids, refund)])).sort()).toEqual([
      0, 2,
    ]);
    // Two DIFFERENT refunds of the order at once: each must see the other's running totals (the
    // charge row lock), or the second would overwrite the first's and later over-claw back.
    const rest = (n: string, amount: bigint) =>
      request({
        request_id: `evt-r${n}-${round}`,
        kind: 'CLAWBACK',
        order_id: order,
        amount_minor: amount,
      });
    expect(
      await Promise.all([apply(db, ids, rest('a', 300n)), apply(db, ids, rest('b', 300n))]),
    ).toEqual([2, 2]);
    const row = await db('commission_charge').where({ region: 'SG', order_id: order }).first();
    expect(row).toMatchObject({
      refunded_minor: '1000',
      fee_clawed_back_minor: '100',
      affiliate_clawed_back_minor: '100',
    });
  }
  // Per order: fee 100 charged and all of it returned; the same for the affiliate's credit.
  expect(await balanceOf(db, SELLER)).toBe(0n);
  expect(await balanceOf(db, AFFILIATE)).toBe(0n);
  expect(Number((await db('billing_item').count({ n: '*' }).first())?.n)).toBe(5 * 8); // fee and credit for the charge and each of the three refunds
});
