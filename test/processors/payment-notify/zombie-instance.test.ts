import path from 'node:path';
import { ledgerBalances, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { spawnProcessorChild, stopChildren, type RunningChild } from '../../fixtures/child-process';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';
import { putFaults, useGatewayHarness } from '../../fixtures/gateway-harness';
import { expectPaidExactlyOnce, simStats, statusCounts } from '../../fixtures/payment-assertions';
import {
  flushNamespace,
  makePayouts,
  paymentWorld,
  publishPayouts,
  seedPayoutRows,
  SMALL_AMOUNT_BASE,
} from '../../fixtures/payment-harness';
import { waitFor } from '../../fixtures/processor-harness';
import { useTestResources } from '../../fixtures/resources';

/**
 * A payment-notify instance frozen with gateway calls in flight (docs/ARCHITECTURE.md,
 * "Scale-out"). Two instances of the real catalog processor, each its own process, in one group.
 * The first is frozen with SIGSTOP while its lanes wait on the gateway; the second takes the
 * group's partitions and, through its compensator, finishes every payout the first had submitted.
 * Only then is the first thawed with SIGCONT: the gateway's answers waiting in its sockets, and its
 * lanes' payouts, must change nothing. No key executed twice, one result per payout, the ledger
 * balanced.
 */
const r = useTestResources();
const gw = useGatewayHarness();
const CATALOG_CHILD = path.join(FIXTURES_DIR, 'catalog-child.ts');
const N = 200;

test('an instance frozen with payments in flight and thawed after another instance paid them executes nothing twice and writes nothing twice', async () => {
  // Each call waits 3 s at the gateway before it executes, so the freeze lands with calls open.
  const w = await paymentWorld(r, gw, { partitions: 2, simArgs: ['--latency-ms', '3000'] });
  const redis = r.redis();
  r.defer(() => flushNamespace(redis, w.keyPrefix));
  const payouts = makePayouts(N, 50, 0, SMALL_AMOUNT_BASE);
  await seedPayoutRows(w.db, payouts);
  await publishPayouts(r, w, payouts);

  const children: RunningChild[] = [];
  const start = () => {
    const child = spawnProcessorChild({
      mysqlUrl: w.url,
      topic: w.topic,
      group: w.group,
      script: CATALOG_CHILD,
      extraEnv: { FIXTURE_PROCESSOR: 'payment-notify', STS_GATEWAY_URL: w.simUrl },
    });
    children.push(child);
    return child;
  };
  const final = async () => {
    const c = await statusCounts(w.db);
    return (c.PAID ?? 0) + (c.FAILED ?? 0);
  };
  try {
    const zombie = start();
    expect(await zombie.waitForLine(/^ready$/)).toBe('ready');
    // Frozen once no payout is left PENDING (every TRY committed) and calls are open: the freeze
    // then lands in the gateway calls. Frozen inside a TRY transaction instead, its row locks
    // would hold the heir back for as long as the freeze lasts (docs/ARCHITECTURE.md, "Scaling
    // out").
    await waitFor(
      'every payout submitted and calls open at the gateway',
      async () =>
        ((await statusCounts(w.db)).PENDING ?? 0) === 0 && (await simStats(w.simUrl)).requests > 0,
      60_000,
      50,
    );
    zombie.proc.kill('SIGSTOP');
    const atFreeze = await simStats(w.simUrl);
    // It had calls open (in the gateway's 3 s wait), and most payouts were not final yet.
    const openAtFreeze = atFreeze.requests - atFreeze.executions;
    expect(openAtFreeze).toBeGreaterThan(0);
    expect(await final()).toBeLessThan(N);
    // From now on the gateway answers at once; the frozen instance's open calls still execute.
    await putFaults(w.simUrl, { latencyMs: 0 });

    const heir = start();
    expect(await heir.waitForLine(/^ready$/)).toBe('ready');
    // The heir finishes them all while the first instance is still frozen: its compensator waits
    // out the frozen instance's claims, asks the gateway by key and finalises.
    await waitFor(
      'every payout final while the first instance is frozen',
      async () => (await final()) === N,
      120_000,
      250,
    );
    const beforeThaw = await simStats(w.simUrl);
    expect(beforeThaw.executions).toBe(N);
    // The calls the frozen instance had open executed during the freeze; the heir found each of
    // them by its key at the gateway instead of sending it again.
    expect(beforeThaw.lookups - beforeThaw.lookupMisses).toBeGreaterThanOrEqual(openAtFreeze);

    zombie.proc.kill('SIGCONT');
    // Thawed, it reads the answers that arrived while it was frozen and goes on with its lanes;
    // let it run until its sockets and lanes are drained and it has rejoined the group.
    await new Promise((ok) => setTimeout(ok, 8000));
    // Both leave cleanly: SIGTERM finishes the batch in flight and exits 0.
    expect(await stopChildren(children, { expectClean: true })).toEqual(children.map(() => 0));
  } finally {
    await stopChildren(children, { expectClean: false });
  }

  expect(await statusCounts(w.db)).toEqual({ PAID: N });
  const { paid } = await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
    'sts.payout-results.v1',
  );
  expect(paid).toBe(N);
  const stats = await simStats(w.simUrl);
  expect(stats.executions).toBe(N);
  expect(stats.maxExecutionsPerKey).toBe(1);
  expect(netOf(await ledgerBalances(w.db), 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
}, 240_000);
