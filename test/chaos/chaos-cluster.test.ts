import { loadConfig } from '../../runtime/config';
import { CHAOS_SMALL_SIZE, runChaos } from '../../tools/chaos/chaos-run';

/**
 * The chaos run on both clusters at once, at the size CI affords
 * (`sts chaos --cluster --db-cluster --small`; each cluster also runs on its own with its flag):
 * - a private three-node Kafka cluster with two instances of every process: the node leading the
 *   most partitions and the active controller killed, all three nodes restarted one at a time, two
 *   instances frozen past their session timeout and thawed;
 * - a private three-node MariaDB Galera cluster behind HAProxy: the node HAProxy routes to killed
 *   with kill -9 during the upload and rejoining by state transfer as the closes start (the writes
 *   fail back to it), and a standby killed and restarted under the payments;
 * on top of the single-broker run's faults. Every money check passes, no acknowledged order event
 * is lost, no seller's events are reordered, and every database node ends Synced with the same
 * money tables. One run for both keeps CI inside its budget. The faults are asserted too, so a run
 * in which nothing broke cannot pass.
 */
test('a small flow on a Kafka cluster and a Galera cluster, two instances of every process, survives broker leader and controller kills, a rolling restart, frozen instances and kill -9 of database nodes with every cent and every acknowledged event accounted for', async () => {
  const lines: string[] = [];
  // A run that cannot be carried out says how far it got: its progress lines go with the error.
  const report = await runChaos(loadConfig(), { ...CHAOS_SMALL_SIZE, cluster: true, dbCluster: true, seed: 13 }, (l) => lines.push(l)).catch((err: Error) => {
    throw new Error(`${err.message}\nafter:\n${lines.join('\n')}`, { cause: err });
  });

  const faults = report.faults.map((f) => f.what);
  // The Kafka cluster's faults.
  expect(faults.filter((f) => /^Kafka node \d \(leader of \d+ partitions\) kill -9/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => /^Kafka node \d \(the active controller\) kill -9$/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => f.startsWith('rolling restart: Kafka node'))).toEqual([1, 2, 3].map((n) => `rolling restart: Kafka node ${n} stopped cleanly`));
  // Every stopped node came back and its partitions caught up: five restarts in all.
  expect(faults.filter((f) => /^Kafka node \d restarted .* every partition in sync/.test(f))).toHaveLength(5);
  expect(faults).toEqual(expect.arrayContaining(['SIGSTOP settlement-aggregation-1 for 10 s, then SIGCONT', 'SIGSTOP payment-notify-1 for 10 s, then SIGCONT']));
  // The database cluster's: the routed node and a standby killed, both back by state transfer.
  expect(faults.filter((f) => /^MariaDB node-1 \(HAProxy routes to it\) kill -9; HAProxy routes to node-[23] \d+\.\d s after$/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => /^MariaDB node-\d \(a standby, HAProxy routes to node-1\) kill -9/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => /^MariaDB node-\d restarted and rejoined by /.test(f))).toHaveLength(2);
  expect(faults.some((f) => f.startsWith('MariaDB kill -9 and restart'))).toBe(false);
  expect(faults.some((f) => f.startsWith('kill -9 sts settle close'))).toBe(true);
  expect(faults).toContain('Redis FLUSHALL');

  // Two instances of each process, every one of them killed at least once.
  expect(report.processes.map((p) => p.name).sort()).toEqual(['bank-rail', 'commission', 'payment-notify', 'settlement-aggregation', 'upload-ingestion'].flatMap((n) => [`${n}-1`, `${n}-2`]).sort());
  for (const p of report.processes) expect([p.name, p.kills > 0]).toEqual([p.name, true]);

  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  // The single-broker run's 17 checks, and the database cluster's: every node Synced, the same money on each.
  expect(report.checks).toHaveLength(18);
  expect(report.checks.find((c) => c.name === 'no acknowledged order event lost')?.detail).toMatch(/^[1-9]\d* acknowledged events/);
  expect(report.checks.find((c) => c.name.startsWith('the database cluster'))?.detail).toMatch(/^3 nodes Synced, each with billing_item [1-9]\d* rows/);
  expect(report.payouts).toBeGreaterThan(0);
  expect(report.ok).toBe(true);
}, 1_200_000);
