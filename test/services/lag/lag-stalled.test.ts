import { useTestResources } from '../../fixtures/resources';
import { produceStamped, sampleUntil, stuckConsumer, testMonitor } from '../../fixtures/lag-harness';

/**
 * A stuck consumer: it keeps its membership (heartbeats, as the processor runtime does while it
 * retries a batch) but its committed offset no longer moves. That is STALLED, never STOPPED, and
 * only once the offset has stood still for stallAfterMs.
 */
const r = useTestResources();

test('a consumer that holds its partition but stops committing becomes STALLED after stallAfterMs', async () => {
  const topic = await r.topic('lag-stuck', 1);
  const group = r.group('lag-stuck');
  await produceStamped(r.kafka, topic, 10, Date.now() - 60_000, 1000);

  // Stuck on record 4. Its committed offset cannot have moved to 4 before lastCommitSentAt().
  const { lastCommitSentAt } = await stuckConsumer(r, group, topic, 4n);

  const stallAfterMs = 3000;
  const monitor = testMonitor(r, [{ group, topic }], {
    intervalMs: 250,
    windowMs: 60_000,
    stallAfterMs,
    minSamples: 3,
    minWindowMs: 1000,
  });
  const early = await sampleUntil(
    monitor,
    group,
    (g) => g.partitions[0]?.committed === 4n && g.members === 1,
    'the consumer to commit up to the stuck record',
  );
  expect(early.status).not.toBe('STALLED');
  expect(early.status).not.toBe('STOPPED');

  const stalled = await sampleUntil(
    monitor,
    group,
    (g) => g.status === 'STALLED',
    'STALLED',
    30_000,
  );
  expect(Date.now() - lastCommitSentAt()).toBeGreaterThanOrEqual(stallAfterMs);
  expect(stalled.state).toBe('Stable');
  expect(stalled.members).toBe(1);
  expect(stalled.lag).toBe(6n);
  expect(stalled.reason).toMatch(/committed offset 4 unchanged/);
  expect(stalled.partitions[0]!.owner).toMatch(/@/);
});
