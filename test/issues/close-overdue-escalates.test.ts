import { register } from 'prom-client';
import { orderStream } from '../../tools/orders/synthetic-orders';
import { createLogger } from '../../runtime/logger';
import { CloseScheduler } from '../../settlement/cycle-close/close-scheduler';
import { useTestResources } from '../fixtures/resources';
import { settlementSetup } from '../fixtures/close-harness';

/**
 * A scheduled close that cannot happen (here: nobody consumes the order events, so the watermark
 * is never reached) is retried every tick, but not silently forever: after escalateAfterTicks
 * failed ticks it is overdue, listed by overdue(), counted in sts_close_overdue_ticks and logged
 * at error level, and the cycle stays OPEN (nothing is closed on a partial input).
 */
const r = useTestResources();

test('a close that keeps failing is escalated as overdue after escalateAfterTicks, still retried, and the cycle stays open', async () => {
  const s = await settlementSetup(r);
  const deps = {
    db: s.db,
    kafka: r.kafka,
    ids: s.ids,
    outbox: s.outbox,
    dataDir: s.dataDir,
    logger: createLogger('test-close-overdue', 'fatal'),
  };
  const events = orderStream({
    orders: 20,
    sellers: 4,
    occurredAt: () => new Date(s.closing.startsAt.getTime() + 86_400_000),
    prefix: r.unique('ovd'),
    orderBase: 921000000000000000n,
  });
  await s.produce(events);
  const scheduler = new CloseScheduler(deps, ['SG'], {
    plan: s.plan,
    payoutsTopic: s.topics.payouts,
    watermarkTimeoutMs: 300,
    escalateAfterTicks: 2,
  });
  const now = new Date(s.closing.cutoffAt.getTime() + 86_400_000);
  expect(await scheduler.tick(now)).toEqual([]);
  expect(scheduler.overdue()).toEqual([]);
  expect(await scheduler.tick(now)).toEqual([]);
  expect(await scheduler.tick(now)).toEqual([]);
  const [overdue, ...others] = scheduler.overdue();
  expect(others).toEqual([]);
  expect(overdue).toMatchObject({ region: 'SG', failedTicks: 3 });
  expect(overdue!.lastError).toMatch(/watermark/i);
  expect(await register.metrics()).toMatch(/sts_close_overdue_ticks\{region="SG"\} 3/);
  const cycle = await s
    .db('settlement_cycle')
    .where({ region: 'SG', cycle_id: s.closing.cycleId.toString() })
    .first('status');
  expect(cycle?.status ?? 'OPEN').not.toBe('CLOSED');
}, 120_000);
