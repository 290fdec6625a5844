import { useTestResources } from '../../fixtures/resources';
import {
  consumeUpTo,
  groupOf,
  produceStamped,
  sampleUntil,
  testMonitor,
} from '../../fixtures/lag-harness';

/**
 * Lag against a known truth: N records with known timestamps, a real consumer that commits
 * exactly M of them. The lag must be N - M (within 1) and the lag seconds the age of record M
 * (within 1 s), while the consumer runs and after it stops.
 */
const r = useTestResources();
/**
 * The truth is the age of record M at the moment of the sample, which lies between `before` and
 * `after`; the report must be within 1 s of it.
 */
function expectAge(lagSeconds: number, ts: number, before: number, after: number) {
  expect(lagSeconds).toBeGreaterThan((before - ts) / 1000 - 1);
  expect(lagSeconds).toBeLessThan((after - ts) / 1000 + 1);
}

const FAST = {
  intervalMs: 250,
  windowMs: 60_000,
  stallAfterMs: 1500,
  minSamples: 3,
  minWindowMs: 1000,
};

test('lag and lag seconds match the truth within 1 message and 1 s; a stopped consumer with lag is STOPPED', async () => {
  const topic = await r.topic('lag-acc', 1);
  const group = r.group('lag-acc');
  const N = 40;
  const M = 17;
  const stamps = await produceStamped(r.kafka, topic, N, Date.now() - 600_000, 10_000);
  const consumer = await consumeUpTo(r, group, topic, BigInt(M));
  const monitor = testMonitor(r, [{ group, topic }], FAST);

  const before = Date.now();
  const running = groupOf(await monitor.sampleOnce(), group);
  const after = Date.now();
  const p = running.partitions[0]!;
  expect(running.members).toBe(1);
  expect(p.committed).toBe(BigInt(M));
  expect(p.end).toBe(BigInt(N));
  expect(Number(p.lag)).toBeGreaterThanOrEqual(N - M - 1);
  expect(Number(p.lag)).toBeLessThanOrEqual(N - M + 1);
  expectAge(p.lagSeconds, stamps[M]!, before, after);
  expect(p.nextOffset).toBe(BigInt(M));
  expect(running.status).not.toBe('STOPPED');

  await consumer.disconnect();
  const stoppedFrom = Date.now();
  const stopped = await sampleUntil(
    monitor,
    group,
    (g) => g.status === 'STOPPED',
    'STOPPED after the consumer left',
  );
  expect(stopped.state).toBe('Empty');
  expect(stopped.lag).toBe(BigInt(N - M));
  expectAge(stopped.lagSeconds, stamps[M]!, stoppedFrom, Date.now());
  expect(stopped.etaSeconds).toBeNull();
});

test('an idle topic with zero lag stays OK across samples, with its consumer and after it leaves', async () => {
  const topic = await r.topic('lag-idle', 1);
  const group = r.group('lag-idle');
  await produceStamped(r.kafka, topic, 5, Date.now() - 60_000, 1000);
  const consumer = await consumeUpTo(r, group, topic, 5n);
  const monitor = testMonitor(r, [{ group, topic }], FAST);

  const statuses: string[] = [];
  const until = Date.now() + 2 * FAST.stallAfterMs;
  while (Date.now() < until) {
    const g = groupOf(await monitor.sampleOnce(), group);
    statuses.push(g.status);
    expect(g.lag).toBe(0n);
    expect(g.lagSeconds).toBe(0);
    await new Promise((res) => setTimeout(res, FAST.intervalMs));
  }
  await consumer.disconnect();
  // No member and nothing committed for longer than stallAfterMs: Burrow would call this STOPPED.
  await sampleUntil(monitor, group, (g) => g.state === 'Empty', 'the group to be empty');
  const after = Date.now() + 2 * FAST.stallAfterMs;
  while (Date.now() < after) {
    statuses.push(groupOf(await monitor.sampleOnce(), group).status);
    await new Promise((res) => setTimeout(res, FAST.intervalMs));
  }
  expect(statuses.length).toBeGreaterThan(6);
  expect(new Set(statuses)).toEqual(new Set(['OK']));
});

test('a group that never committed is shown, its lag counted from the log start', async () => {
  const topic = await r.topic('lag-new', 2);
  const group = r.group('lag-never');
  const stamps = await produceStamped(r.kafka, topic, 6, Date.now() - 30_000, 1000);
  const before = Date.now();
  const g = groupOf(await testMonitor(r, [{ group, topic }], FAST).sampleOnce(), group);
  const after = Date.now();
  expect(g.state).toBe('Dead');
  expect(g.partitions.map((p) => [p.partition, p.committed, p.lag])).toEqual([
    [0, null, 6n],
    [1, null, 0n],
  ]);
  expectAge(g.lagSeconds, stamps[0]!, before, after);
  expect(g.status).toBe('STOPPED');
});
