import path from 'node:path';
import Redis from 'ioredis';
import { ledgerBalances, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { spawnProcessorChild, type RunningChild } from '../../fixtures/child-process';
import { waitFor } from '../../fixtures/processor-harness';
import { putFaults, useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { expectPaidExactlyOnce, simStats, statusCounts } from '../../fixtures/payment-assertions';
import {
  makePayouts,
  paymentWorld,
  publishPayouts,
  payToRefusedAccounts,
  seedPayoutRows,
  SMALL_AMOUNT_BASE,
} from '../../fixtures/payment-harness';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * The chaos run: 20,000 payouts through the real payment-notify (the `sts run` catalog
 * entry, in its own process) against the simulator at 5% transient errors and 1% answers withheld
 * after execution, with one 10 s gateway outage, five kill -9s of payment-notify and one FLUSHDB
 * of its Redis database. At the end every payout is PAID or FAILED, the gateway executed each key
 * at most once and each PAID payout exactly once, the ledger balances and nothing is in flight.
 *
 * Redis: a database index of this test's own (/7), so flushing it touches no other test.
 */
const r = useTestResources();
const gw = useGatewayHarness();
const CATALOG_CHILD = path.join(FIXTURES_DIR, 'catalog-child.ts');
const CHAOS_REDIS_URL = 'redis://127.0.0.1:6379/7';
const N = 20_000;

test('chaos: 20k payouts, 5% transient errors, 1% timeouts after execution, a 10 s outage, five kill -9s and a FLUSHDB: each paid exactly once, ledger balanced', async () => {
  const started = Date.now();
  const w = await paymentWorld(r, gw, {
    partitions: 6,
    simArgs: [
      '--transient-rate',
      '0.05',
      '--timeout-after-execute-rate',
      '0.01',
      '--hold-ms',
      '30000',
      '--seed',
      '42',
    ],
  });
  const redis = new Redis(CHAOS_REDIS_URL, { maxRetriesPerRequest: 2 });
  r.defer(async () => {
    await redis.flushdb();
    await redis.quit();
  });
  await redis.flushdb();

  const payouts = makePayouts(N, 2000, 0, SMALL_AMOUNT_BASE);
  // 1% of sellers have an account the gateway refuses: their payouts must end FAILED.
  const refusedSellers = [...new Set(payouts.map((p) => p.shopUserId))].filter(
    (_, i) => i % 100 === 7,
  );
  await seedPayoutRows(w.db, payouts);
  await payToRefusedAccounts(w.db, refusedSellers);
  await publishPayouts(r, w, payouts);

  const final = async () => {
    const c = await statusCounts(w.db);
    return (c.PAID ?? 0) + (c.FAILED ?? 0);
  };
  const start = () =>
    spawnProcessorChild({
      mysqlUrl: w.url,
      topic: w.topic,
      group: w.group,
      script: CATALOG_CHILD,
      extraEnv: {
        FIXTURE_PROCESSOR: 'payment-notify',
        STS_REDIS_URL: CHAOS_REDIS_URL,
        STS_GATEWAY_URL: w.simUrl,
      },
    });

  let child: RunningChild | undefined;
  const finalAtKill: number[] = [];
  let outageAt = 0;
  let flushedAt = 0;
  try {
    for (let kill = 0; kill < 5; kill++) {
      child = start();
      expect(await child.waitForLine(/^ready$/, 60_000)).toBe('ready');
      if (kill === 1) {
        await putFaults(w.simUrl, { outageForMs: 10_000 });
        outageAt = Date.now() - started;
      }
      if (kill === 3) {
        await redis.flushdb();
        flushedAt = Date.now() - started;
      }
      // Kill it mid-run: once it has finished another ~2,500 payouts, at a random moment after.
      const target = (finalAtKill[finalAtKill.length - 1] ?? 0) + 2500;
      await waitFor(`${target} final payouts`, async () => (await final()) >= target, 90_000, 100);
      await new Promise((ok) => setTimeout(ok, Math.floor(Math.random() * 300)));
      child.proc.kill('SIGKILL');
      await child.exited;
      finalAtKill.push(await final());
    }
    expect(finalAtKill[4]).toBeLessThan(N);

    child = start();
    expect(await child.waitForLine(/^ready$/, 60_000)).toBe('ready');
    await waitFor('every payout final', async () => (await final()) === N, 180_000, 500);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  } finally {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null)
      child.proc.kill('SIGKILL');
  }

  const expectedFailed = payouts.filter((p) => refusedSellers.includes(p.shopUserId)).length;
  expect(await statusCounts(w.db)).toEqual({ PAID: N - expectedFailed, FAILED: expectedFailed });
  const { paid, failed } = await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
    'sts.payout-results.v1',
  );
  expect([paid, failed]).toEqual([N - expectedFailed, expectedFailed]);
  const balances = await ledgerBalances(w.db);
  expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
  const refusedTotal = payouts
    .filter((p) => refusedSellers.includes(p.shopUserId))
    .reduce((s, p) => s + p.amountMinor, 0n);
  // Each refused payout's amount went back to its seller's balance once, through all the kills:
  // one PAYOUT_RETURN item per refused payout, adding up to exactly what was refused.
  expect(netOf(balances, 'SGD', 'SELLER_SETTLEMENT')).toBe(0n);
  const [returned] = (await w.db('billing_item').where({ source: 'PAYOUT_RETURN' }).select(w.db.raw('COUNT(*) AS n'), w.db.raw('CAST(COALESCE(SUM(amount_minor), 0) AS CHAR) AS s'))) as Array<{ n: number; s: string }>;
  expect([Number(returned!.n), BigInt(returned!.s)]).toEqual([expectedFailed, refusedTotal]);

  const stats = await simStats(w.simUrl);
  expect(stats.maxExecutionsPerKey).toBe(1);
  expect(stats.executions).toBe(N);
  expect(stats.transientErrors).toBeGreaterThan(0);
  expect(stats.timeoutsAfterExecute).toBeGreaterThan(0);
  expect(stats.outageRefusals).toBeGreaterThan(0);
  process.stdout.write(
    `chaos: ${N} payouts (${paid} PAID, ${failed} FAILED) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `final at each kill ${finalAtKill.join(', ')}; outage at ${(outageAt / 1000).toFixed(1)} s, FLUSHDB at ${(flushedAt / 1000).toFixed(1)} s; ` +
      `gateway: ${stats.requests} requests, ${stats.executions} executions (max ${stats.maxExecutionsPerKey} per key), ` +
      `${stats.transientErrors} transient 503s, ${stats.timeoutsAfterExecute} withheld answers, ${stats.outageRefusals} outage refusals, ` +
      `${stats.lookups} lookups, ${stats.refusedDuplicates} replays\n`,
  );
}, 300_000);
