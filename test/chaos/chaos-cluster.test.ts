import { loadConfig } from '../../runtime/config';
import { CHAOS_SMALL_SIZE, runChaos } from '../../tools/chaos/chaos-run';

/**
 * The chaos run on a private three-node Kafka cluster with two instances of every process, at the
 * size CI affords (`sts chaos --cluster --small`): on top of the single-broker run's faults, the
 * node leading the most partitions and the active controller are killed, all three nodes are
 * restarted one at a time, and two instances are frozen past their session timeout and thawed.
 * Every money check passes, no acknowledged order event is lost and no seller's events are
 * reordered. The faults are asserted too, so a run in which nothing broke cannot pass.
 */
test('a small flow on a three-node cluster with two instances of every process survives leader and controller kills, a rolling restart and frozen instances with every cent and every acknowledged event accounted for', async () => {
  const lines: string[] = [];
  // A run that cannot be carried out says how far it got: its progress lines go with the error.
  const report = await runChaos(loadConfig(), { ...CHAOS_SMALL_SIZE, cluster: true, seed: 13 }, (l) => lines.push(l)).catch((err: Error) => {
    throw new Error(`${err.message}\nafter:\n${lines.join('\n')}`, { cause: err });
  });

  const faults = report.faults.map((f) => f.what);
  expect(faults.filter((f) => /^Kafka node \d \(leader of \d+ partitions\) kill -9/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => /^Kafka node \d \(the active controller\) kill -9$/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => f.startsWith('rolling restart: Kafka node'))).toEqual([1, 2, 3].map((n) => `rolling restart: Kafka node ${n} stopped cleanly`));
  // Every stopped node came back and its partitions caught up: five restarts in all.
  expect(faults.filter((f) => /^Kafka node \d restarted .* every partition in sync/.test(f))).toHaveLength(5);
  expect(faults).toEqual(expect.arrayContaining(['SIGSTOP settlement-aggregation-1 for 10 s, then SIGCONT', 'SIGSTOP payment-notify-1 for 10 s, then SIGCONT']));
  expect(faults.some((f) => f.startsWith('MariaDB kill -9 and restart'))).toBe(true);
  expect(faults).toContain('Redis FLUSHALL');

  // Two instances of each process, every one of them killed at least once.
  expect(report.processes.map((p) => p.name).sort()).toEqual(['bank-rail', 'commission', 'payment-notify', 'settlement-aggregation', 'upload-ingestion'].flatMap((n) => [`${n}-1`, `${n}-2`]).sort());
  for (const p of report.processes) expect([p.name, p.kills > 0]).toEqual([p.name, true]);

  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.checks).toHaveLength(17);
  expect(report.checks.find((c) => c.name === 'no acknowledged order event lost')?.detail).toMatch(/^[1-9]\d* acknowledged events/);
  expect(report.payouts).toBeGreaterThan(0);
  expect(report.ok).toBe(true);
}, 1_200_000);
