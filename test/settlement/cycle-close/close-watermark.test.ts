import { addRule } from '../../../processors/commission/rule-store';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { WatermarkNotReachedError } from '../../../settlement/cycle-close/close-errors';
import { createLogger } from '../../../runtime/logger';
import { useTestResources } from '../../fixtures/resources';
import { settlementSetup } from '../../fixtures/close-harness';
import { orderStream } from '../../../tools/orders/synthetic-orders';

/**
 * A close must never pay short: with events from before the cutoff still unconsumed it waits, and
 * gives up with a report of the lagging partitions, leaving the cycle OPEN and writing nothing.
 * Once the processors catch up, the same close pays every event.
 */
const r = useTestResources();

test('a close started while pre-cutoff events are unconsumed fails with a lag report, then pays everything once they are consumed', async () => {
  const s = await settlementSetup(r);
  await addRule(s.db, { region: 'SG', category: '*', rateBps: 100, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger: createLogger('test-close', 'warn') };
  const events = orderStream({ orders: 500, sellers: 40, occurredAt: () => new Date(s.closing.startsAt.getTime() + 86_400_000), prefix: r.unique('w') });
  await s.produce(events);

  const err = await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 2000, drainUntil: new Date() }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WatermarkNotReachedError);
  expect((err as Error).message).toContain(s.topics.orders);
  expect((err as Error).message).toMatch(/committed -1 < \d+/);
  const cycle = await s.db('settlement_cycle').where({ region: 'SG', cycle_id: s.closing.cycleId.toString() }).first();
  expect(cycle.status).toBe('OPEN');
  expect(await s.db('payout').count({ n: '*' })).toEqual([{ n: '0' }]);

  await s.startPipeline();
  const result = await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 120_000, drainUntil: new Date() });
  const [{ items }] = (await s.db('billing_item').where({ source: 'ORDER', cycle_id: s.closing.cycleId.toString(), late: false }).count({ items: '*' })) as [Record<string, string>];
  expect(Number(items)).toBe(events.length);
  const [{ fees }] = (await s.db('billing_item').where({ source: 'COMMISSION', cycle_id: s.closing.cycleId.toString() }).count({ fees: '*' })) as [Record<string, string>];
  expect(Number(fees)).toBeGreaterThan(0);
  const [{ total }] = (await s.db('payout').where({ cycle_id: s.closing.cycleId.toString() }).sum({ total: 'amount_minor' })) as [Record<string, string>];
  const [{ itemsTotal }] = (await s.db('billing_item').where({ cycle_id: s.closing.cycleId.toString() }).sum({ itemsTotal: 'amount_minor' })) as [Record<string, string>];
  expect(String(total)).toBe(String(itemsTotal));
  expect(result.payoutsCreated).toBeGreaterThan(0);
}, 300_000);

test('a cutoff that is not a cycle boundary, or in the future, is refused', async () => {
  const s = await settlementSetup(r);
  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger: createLogger('test-close', 'warn') };
  await expect(closeCycle(deps, { region: 'SG', cutoff: new Date(s.closing.cutoffAt.getTime() + 3_600_000), plan: s.plan })).rejects.toThrow(/not a cycle cutoff/);
  const future = new Date(s.closing.cutoffAt.getTime() + 14 * 86_400_000);
  await expect(closeCycle(deps, { region: 'SG', cutoff: future, plan: s.plan })).rejects.toThrow(/cannot close before it ends/);
  await expect(closeCycle(deps, { region: 'XX', plan: s.plan })).rejects.toThrow(/unknown region/);
}, 120_000);

test('the scheduler closes an ended cycle through the same path as the CLI, once', async () => {
  const s = await settlementSetup(r);
  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger: createLogger('test-close', 'warn') };
  await s.startPipeline();
  const events = orderStream({ orders: 200, sellers: 20, occurredAt: () => new Date(s.closing.startsAt.getTime() + 86_400_000), prefix: r.unique('sch'), orderBase: 920000000000000000n });
  await s.produce(events);
  const { CloseScheduler } = await import('../../../settlement/cycle-close/close-scheduler');
  const scheduler = new CloseScheduler(deps, ['SG'], { plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 60_000 });
  // "now" is one day after the closing cycle ended: that cycle is the one due.
  const now = new Date(s.closing.cutoffAt.getTime() + 86_400_000);
  expect(await scheduler.tick(now)).toEqual([{ region: 'SG', cycleId: s.closing.cycleId }]);
  expect(await scheduler.tick(now)).toEqual([]);
  const cycle = await s.db('settlement_cycle').where({ region: 'SG', cycle_id: s.closing.cycleId.toString() }).first();
  expect(cycle.status).toBe('CLOSED');
  const files = await s.db('payout_file').where({ region: 'SG', cycle_id: s.closing.cycleId.toString() });
  expect(files.map((f: { status: string }) => f.status)).toEqual(['RELEASED']);
}, 300_000);
