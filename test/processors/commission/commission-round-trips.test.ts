import type { Knex } from '../../../runtime/db/knex';
import { SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease } from '../../../runtime/ids/worker-lease';
import { createLogger } from '../../../runtime/logger';
import type { InputRecord } from '../../../runtime/processor/definition';
import type { CommissionRequest } from '../../../contracts/commission-request';
import { commission } from '../../../processors/commission/processor';
import { addRule } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import { AFFILIATE, ORDER_BASE, SELLER, balanceOf, request } from '../../fixtures/commission-setup';

const r = useTestResources();
const FROM = new Date('2026-01-01T00:00:00Z');

/**
 * The processor once did several queries per request, and a cycle close waited minutes for it.
 * A batch now costs a fixed number of statements whatever its size: 3 reads (charges, clawbacks,
 * rules), 1 lock, 3 writes (charges, clawbacks, totals), up to 3 per distinct cycle, and the
 * billing ledger's one INSERT per 1,000 items plus one balance upsert. A per-record round trip
 * would show up here as thousands.
 */
const STATEMENTS_PER_BATCH = 15;

/** Applies `requests` as one sub-batch of the real processor; returns the statements it sent. */
async function runBatch(
  db: Knex,
  ids: SnowflakeGenerator,
  requests: CommissionRequest[],
): Promise<string[]> {
  const def = commission(ids);
  const records: Array<InputRecord<CommissionRequest>> = requests.map((value, i) => ({
    value,
    key: value.shop_user_id.toString(),
    topic: def.topic,
    partition: 0,
    offset: i.toString(),
    timestamp: '0',
    headers: {},
  }));
  const sent: string[] = [];
  // Only statements of a transaction count: the worker lease renews on its own timer, outside.
  const onQuery = (q: { sql: string; __knexTxId?: string }) => {
    if (q.__knexTxId !== undefined) sent.push(q.sql);
  };
  db.on('query', onQuery);
  try {
    await db.transaction((trx) =>
      def.handleBatch(
        {
          trx,
          logger: createLogger('test-commission', 'warn'),
          outbox: { add: () => Promise.reject(new Error('commission publishes no events')) },
        },
        records,
      ),
    );
  } finally {
    db.off('query', onQuery);
  }
  return sent.filter((sql) => !/^(begin|commit|start transaction)/i.test(sql.trim()));
}

test('a batch of 2,000 requests costs a fixed number of queries, not some per request', async () => {
  const { db } = await r.database();
  const lease = await WorkerLease.acquire(db, { datacenterId: 6, owner: 'test-commission-trips' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  await addRule(db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: FROM }, 'test');
  await addRule(
    db,
    { region: 'SG', category: 'electronics', rateBps: 500, effectiveFrom: FROM },
    'test',
  );

  // 2,000 completed orders, every other one with an affiliate: 3,000 billing items.
  const charges = Array.from({ length: 2_000 }, (_, i) =>
    request({
      request_id: `evt-c${i}`,
      order_id: ORDER_BASE + BigInt(i),
      category: i % 3 === 0 ? 'books' : 'electronics',
      amount_minor: 10_000n,
      affiliate_user_id: i % 2 === 0 ? AFFILIATE : null,
    }),
  );
  const first = await runBatch(db, ids, charges);
  expect(first.length).toBeLessThanOrEqual(STATEMENTS_PER_BATCH);
  expect(Number((await db('commission_charge').count({ n: '*' }).first())?.n)).toBe(2_000);

  // The next batch mixes new orders, a refund of 300 of the first batch's (two of them refunded
  // twice) and a redelivery of 100 charges: the clawback path stays fixed too.
  const refunds = Array.from({ length: 300 }, (_, i) =>
    request({
      request_id: `evt-r${i}`,
      kind: 'CLAWBACK',
      order_id: ORDER_BASE + BigInt(i),
      amount_minor: 5_000n,
    }),
  );
  const again = [0n, 1n].map((n) =>
    request({
      request_id: `evt-r2-${n}`,
      kind: 'CLAWBACK',
      order_id: ORDER_BASE + n,
      amount_minor: 5_000n,
    }),
  );
  const fresh = Array.from({ length: 1_598 }, (_, i) =>
    request({ request_id: `evt-c${2_000 + i}`, order_id: ORDER_BASE + 2_000n + BigInt(i) }),
  );
  const second = await runBatch(db, ids, [
    ...fresh,
    ...refunds,
    ...again,
    ...charges.slice(0, 100),
  ]);
  expect(second.length).toBeLessThanOrEqual(STATEMENTS_PER_BATCH);
  expect(second.filter((sql) => /for update/i.test(sql))).toHaveLength(1);

  // Orders 0 and 1 are refunded in full: their whole fee is back with the seller.
  const totals = [];
  for (const n of [0n, 1n, 2n]) {
    totals.push(
      await db('commission_charge')
        .where({ region: 'SG', order_id: ORDER_BASE + n })
        .first('refunded_minor', 'fee_minor', 'fee_clawed_back_minor'),
    );
  }
  expect(totals).toEqual([
    { refunded_minor: '10000', fee_minor: '250', fee_clawed_back_minor: '250' }, // books: '*'
    { refunded_minor: '10000', fee_minor: '500', fee_clawed_back_minor: '500' },
    { refunded_minor: '5000', fee_minor: '500', fee_clawed_back_minor: '250' },
  ]);
  // Fees: 667 orders at 250 and 2,931 at 500; returned: 100 + 200 refunds at half, 2 at the rest.
  const charged = 667n * 250n + (2_000n - 667n + 1_598n) * 500n;
  const returned = 100n * 125n + 200n * 250n + 125n + 250n;
  expect(await balanceOf(db, SELLER)).toBe(-(charged - returned));
});
