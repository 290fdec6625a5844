import { waitFor } from '../../fixtures/processor-harness';
import { putFaults, useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { DelayQueue } from '../../../processors/payment-notify/delay-queue';
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

test('flushing every payment key from Redis (queue, attempts, claims, stored answers) loses no payout and executes none twice', async () => {
  // A third of the answers are withheld after execution, so when Redis is flushed there are
  // payouts the gateway executed that only the delay queue (and the database) still remember.
  const w = await paymentWorld(r, gw, {
    simArgs: ['--timeout-after-execute-rate', '0.3', '--hold-ms', '30000'],
  });
  const redis = r.redis();
  r.defer(() => flushNamespace(redis, w.keyPrefix));
  const payouts = makePayouts(300, 60, 8000, SMALL_AMOUNT_BASE);
  await seedPayoutRows(w.db, payouts);
  await publishPayouts(r, w, payouts);
  // A long grace and first back-off keep the deferred payouts waiting in the queue when it is flushed.
  await startPayment(r, gw, w, redis, {
    client: { connectTimeoutMs: 500, responseTimeoutMs: 1000, breakerVolumeThreshold: 1000 },
    // No periodic sweep within the test: only the missing marker can trigger the rebuild.
    options: {
      retryInitialDelayMs: 4000,
      retryMaxDelayMs: 8000,
      submittedGraceMs: 4000,
      sweepIntervalMs: 600_000,
    },
  });
  const queue = new DelayQueue(redis, w.keyPrefix);
  await waitFor(
    'every payout submitted and some deferred',
    async () => {
      const c = await statusCounts(w.db);
      return c.PENDING === undefined && (c.SUBMITTED ?? 0) >= 30 && (await queue.size()) >= 30;
    },
    60_000,
    50,
  );
  const queuedBeforeFlush = await queue.size();
  const withheldBeforeFlush = (await simStats(w.simUrl)).timeoutsAfterExecute;

  // The queue, the attempts, the marker, claims and stored answers: every key of the namespace.
  expect(await flushNamespace(redis, w.keyPrefix)).toBeGreaterThan(0);
  await putFaults(w.simUrl, { timeoutAfterExecuteRate: 0 });

  // The flushed entries come back only through a sweep, and the periodic one is ten minutes
  // away: the compensator must notice the marker is gone and rebuild the queue at once.
  await waitFor('every payout PAID', async () => (await statusCounts(w.db)).PAID === 300, 90_000);
  await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
  );
  const stats = await simStats(w.simUrl);
  expect(stats.executions).toBe(300);
  expect(queuedBeforeFlush).toBeGreaterThanOrEqual(30);
  // Payouts executed at the gateway whose answer only the flushed queue was waiting for.
  expect(withheldBeforeFlush).toBeGreaterThanOrEqual(30);
  expect(await queue.size()).toBe(0);
}, 150_000);
