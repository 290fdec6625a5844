import type { Gauge, Registry } from 'prom-client';
import { waitFor } from '../../fixtures/processor-harness';
import { putFaults, useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { expectPaidExactlyOnce, simStats, statusCounts } from '../../fixtures/payment-assertions';
import {
  flushNamespace,
  makePayouts,
  paymentWorld,
  publishPayouts,
  seedPayoutRows,
  SMALL_AMOUNT_BASE,
  startPayment,
} from '../../fixtures/payment-harness';

const r = useTestResources();
const gw = useGatewayHarness();

async function paused(metrics: Registry): Promise<boolean> {
  const gauge = metrics.getSingleMetric('sts_payment_consumption_paused') as Gauge | undefined;
  return ((await gauge?.get())?.values[0]?.value ?? 0) === 1;
}

async function leftPending(w: { db: import('knex').Knex }): Promise<number> {
  const c = await statusCounts(w.db);
  return (c.SUBMITTED ?? 0) + (c.PAID ?? 0) + (c.FAILED ?? 0);
}

test('an outage opens the breaker at once and pauses consumption with no retry storm; a successful trial resumes it and every payout is paid once', async () => {
  const w = await paymentWorld(r, gw, { simArgs: ['--latency-ms', '10'] });
  const redis = r.redis();
  r.defer(() => flushNamespace(redis, w.keyPrefix));
  const payouts = makePayouts(4000, 500, 6000, SMALL_AMOUNT_BASE);
  await seedPayoutRows(w.db, payouts);
  await publishPayouts(r, w, payouts);
  const { metrics } = await startPayment(r, gw, w, redis, {
    client: { breakerResetTimeoutMs: 3000 },
  });
  await waitFor(
    'some payouts paid',
    async () => ((await statusCounts(w.db)).PAID ?? 0) >= 600,
    60_000,
    50,
  );

  const outageStart = Date.now();
  await putFaults(w.simUrl, { outageForMs: 7000 });
  await waitFor('the breaker to open', () => paused(metrics), 5000, 10);
  const openAfterMs = Date.now() - outageStart;
  // The 1 s target is measured on an idle box by bench/payment-notify.ts; here another test file
  // may share the two cores, so the bound has room for the scheduler.
  expect(openAfterMs).toBeLessThanOrEqual(1500);

  // Let the calls in flight at the moment of the outage fail and be deferred, then watch.
  await new Promise((ok) => setTimeout(ok, 1500));
  const before = {
    taken: await leftPending(w),
    refusals: (await simStats(w.simUrl)).outageRefusals,
  };
  await new Promise((ok) => setTimeout(ok, 4000));
  const during = {
    taken: await leftPending(w),
    refusals: (await simStats(w.simUrl)).outageRefusals,
  };
  expect(await paused(metrics)).toBe(true);
  // Consumption paused: no payout left PENDING while the gateway was down.
  expect(during.taken).toBe(before.taken);
  // No storm: in four seconds of outage only the breaker's trial requests reached the gateway.
  expect(during.refusals - before.refusals).toBeLessThanOrEqual(3);
  expect((await statusCounts(w.db)).PENDING ?? 0).toBeGreaterThan(0);

  await waitFor('consumption to resume', async () => !(await paused(metrics)), 20_000, 50);
  const resumedAfterOutageMs = Date.now() - (outageStart + 7000);
  await waitFor('every payout PAID', async () => (await statusCounts(w.db)).PAID === 4000, 120_000);
  await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
  );
  process.stdout.write(
    `breaker: opened ${openAfterMs} ms after the outage began; resumed ${resumedAfterOutageMs} ms after it ended\n`,
  );
}, 240_000);
