import { waitFor } from '../../fixtures/processor-harness';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { expectPaidExactlyOnce, simStats, statusCounts } from '../../fixtures/payment-assertions';
import {
  flushNamespace,
  makePayouts,
  paymentWorld,
  publishPayouts,
  seedPayoutRows,
  startPayment,
} from '../../fixtures/payment-harness';

const r = useTestResources();
const gw = useGatewayHarness();

test('a payout whose answer times out after it executed stays SUBMITTED, is found executed by the compensator, and is executed exactly once', async () => {
  // Every POST executes and is journaled, then its answer is held longer than the client waits.
  const w = await paymentWorld(r, gw, {
    simArgs: ['--timeout-after-execute-rate', '1', '--hold-ms', '30000'],
  });
  const redis = r.redis();
  r.defer(() => flushNamespace(redis, w.keyPrefix));
  const payouts = makePayouts(24, 8, 5000);
  await seedPayoutRows(w.db, payouts);
  await publishPayouts(r, w, payouts);
  const { metrics } = await startPayment(r, gw, w, redis, {
    client: { connectTimeoutMs: 500, responseTimeoutMs: 1000, breakerResetTimeoutMs: 1000 },
  });

  // Every first call times out, so every payout is SUBMITTED at some point and none is final.
  await waitFor(
    'every payout submitted',
    async () => (await statusCounts(w.db)).PENDING === undefined,
    60_000,
  );
  await waitFor('24 payouts PAID', async () => (await statusCounts(w.db)).PAID === 24, 90_000);
  await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
  );

  const stats = await simStats(w.simUrl);
  expect(stats.executions).toBe(24);
  expect(stats.timeoutsAfterExecute).toBe(24);
  // The compensator asked by key and found each one; it never needed to send a payout again.
  expect(stats.lookups).toBeGreaterThanOrEqual(24);
  expect(stats.refusedDuplicates).toBe(0);
  const deferred = await metrics.getSingleMetricAsString('sts_payment_deferred_total');
  expect(deferred).toMatch(/reason="timeout"\} 24/);
}, 150_000);
