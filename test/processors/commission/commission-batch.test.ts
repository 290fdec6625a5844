import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import { SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease } from '../../../runtime/ids/worker-lease';
import { CycleResolver } from '../../../runtime/billing/cycle-resolver';
import { applyCommissionBatch } from '../../../processors/commission/commission-items';
import type { CommissionRequest } from '../../../contracts/commission-request';
import { addRule } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import { ORDER_BASE, request } from '../../fixtures/commission-setup';

const r = useTestResources();

async function setup() {
  const { db } = await r.database();
  const lease = await WorkerLease.acquire(db, { datacenterId: 6, owner: 'test-commission-batch' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  await addRule(
    db,
    { region: 'SG', category: '*', rateBps: 1_000, effectiveFrom: new Date('2026-01-01Z') },
    'test',
  );
  /** One batch in its own transaction; the source refs of the items it made, or its error code. */
  const apply = async (db: Knex, requests: CommissionRequest[]) =>
    db
      .transaction(async (trx) => {
        const deps = { resolver: new CycleResolver(trx), nextId: () => ids.next() };
        return (await applyCommissionBatch(trx, requests, deps)).map((i) => i.sourceRef);
      })
      .catch((err: unknown) => (err instanceof StsError ? err.code : err));
  return { db, apply };
}

test('refunds whose ids differ only by trailing spaces are distinct refunds, each applied once, never retried forever', async () => {
  // Request ids compare byte for byte (migration 0011, NO PAD). This test used to expect 'evt-r '
  // to be a redelivery of 'evt-r', as the PAD SPACE collation had it; two ids JavaScript sees as
  // different are now two requests in the database and in the processor alike. (Upstream, the
  // order-event edge refuses ids with leading or trailing whitespace.)
  const { db, apply } = await setup();
  const order = ORDER_BASE + 1n;
  const refund = (id: string, amount: bigint) =>
    request({ request_id: id, kind: 'CLAWBACK', order_id: order, amount_minor: amount });
  expect(
    await apply(db, [
      request({ request_id: 'evt-c', order_id: order, amount_minor: 1_000n }),
      refund('evt-r', 400n),
    ]),
  ).toEqual(['evt-c:FEE', 'evt-r:FEE_CLAWBACK']);
  expect(await apply(db, [refund('evt-r ', 100n)])).toEqual(['evt-r :FEE_CLAWBACK']);
  // Each is found again by its exact id: a redelivery changes nothing, another amount conflicts.
  expect(await apply(db, [refund('evt-r ', 100n)])).toEqual([]);
  expect(await apply(db, [refund('evt-r', 400n)])).toEqual([]);
  expect(await apply(db, [refund('evt-r ', 300n)])).toBe('STS_COMMISSION_CONFLICT');
  // The same inside one batch: two refunds, not a refund and its redelivery.
  expect(await apply(db, [refund('evt-s', 100n), refund('evt-s ', 100n)])).toEqual([
    'evt-s:FEE_CLAWBACK',
    'evt-s :FEE_CLAWBACK',
  ]);
  expect(
    await db('commission_charge').where({ region: 'SG', order_id: order }).first(),
  ).toMatchObject({ refunded_minor: '700', fee_clawed_back_minor: '70' });
  expect(((await db('commission_clawback').pluck('request_id')) as string[]).sort()).toEqual(['evt-r', 'evt-r ', 'evt-s', 'evt-s ']);
});

test('requests apply in offset order: a refund before its charge in the same batch is unknown', async () => {
  const { db, apply } = await setup();
  const charge = request({ request_id: 'evt-c', order_id: ORDER_BASE + 2n });
  // The refund comes before its charge: it must not see the charge a later record writes. The
  // batch fails and the runtime isolates the records, so the refund alone is dead-lettered.
  expect(
    await apply(db, [
      charge,
      request({ request_id: 'evt-early', kind: 'CLAWBACK', order_id: ORDER_BASE + 3n }),
      request({ request_id: 'evt-c3', order_id: ORDER_BASE + 3n }),
    ]),
  ).toBe('STS_COMMISSION_CHARGE_UNKNOWN');
  expect(Number((await db('commission_charge').count({ n: '*' }).first())?.n)).toBe(0);
  expect(await apply(db, [charge])).toEqual(['evt-c:FEE']);
});
