import { loadConfig } from '../../runtime/config';
import { CHAOS_SMALL_SIZE, runChaos } from '../../tools/chaos/chaos-run';

/**
 * The chaos run on a private three-node MariaDB Galera cluster behind HAProxy, at the size CI
 * affords (`sts chaos --db-cluster --small`): the node HAProxy routes to is killed with kill -9
 * while the upload is ingested and rejoins by state transfer as the closes start (the writes fail
 * back to it), and a standby node is killed and restarted under the payments, on top of the
 * single-broker run's faults. Every money check passes, and every node ends Synced with the same
 * money tables. The faults are asserted too, so a run in which no node died cannot pass.
 */
test('a small flow on a three-node Galera cluster survives kill -9 of the node HAProxy routes to and of a standby, each rejoining by state transfer, with every cent accounted for and the same money on every node', async () => {
  const lines: string[] = [];
  // A run that cannot be carried out says how far it got: its progress lines go with the error.
  const report = await runChaos(loadConfig(), { ...CHAOS_SMALL_SIZE, dbCluster: true, seed: 17 }, (l) => lines.push(l)).catch((err: Error) => {
    throw new Error(`${err.message}\nafter:\n${lines.join('\n')}`, { cause: err });
  });

  const faults = report.faults.map((f) => f.what);
  expect(faults.filter((f) => /^MariaDB node-1 \(HAProxy routes to it\) kill -9; HAProxy routes to node-[23] \d+\.\d s after$/.test(f))).toHaveLength(1);
  expect(faults.filter((f) => /^MariaDB node-\d \(a standby, HAProxy routes to node-1\) kill -9/.test(f))).toHaveLength(1);
  // Both came back by state transfer; the first took the writes back from the standby.
  const rejoins = faults.filter((f) => /^MariaDB node-\d restarted and rejoined by /.test(f));
  expect(rejoins).toHaveLength(2);
  expect(rejoins[0]).toMatch(/^MariaDB node-1 restarted .*; HAProxy routes to it again/);
  expect(faults.some((f) => f.startsWith('MariaDB kill -9 and restart'))).toBe(false);
  expect(faults.some((f) => f.startsWith('Kafka broker kill -9 and restart'))).toBe(true);
  expect(faults.some((f) => f.startsWith('kill -9 sts settle close'))).toBe(true);
  expect(faults).toContain('Redis FLUSHALL');
  for (const p of report.processes) expect([p.name, p.kills > 0]).toEqual([p.name, true]);

  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  // The single-broker run's 17 checks, and the cluster's: every node Synced, the same money on each.
  expect(report.checks).toHaveLength(18);
  expect(report.checks.find((c) => c.name.startsWith('the database cluster'))?.detail).toMatch(/^3 nodes Synced, each with billing_item [1-9]\d* rows/);
  expect(report.payouts).toBeGreaterThan(0);
  expect(report.ok).toBe(true);
}, 1_200_000);
