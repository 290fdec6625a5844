import { LagSampler } from '../../../services/lag/lag-sampler';
import { useTestResources } from '../../fixtures/resources';
import { produceStamped, stuckConsumer } from '../../fixtures/lag-harness';

/**
 * A sample is dated no earlier than the committed offsets it read. A commit that lands while a
 * sample is in flight must never look older than it is: STALLED means "the committed offset stood
 * still for stallAfterMs", and a sample dated before its reads would claim that too early.
 */
const r = useTestResources();

test('a commit seen by a sample happened before the time the sample carries', async () => {
  const topic = await r.topic('lag-stamp', 1);
  const group = r.group('lag-stamp');
  await produceStamped(r.kafka, topic, 50, Date.now() - 60_000, 10);

  // A member that holds the partition without processing it; the test commits for it.
  const { consumer, stuck } = await stuckConsumer(r, group, topic, 0n);
  await stuck;

  const sampler = new LagSampler(r.kafka);
  r.defer(() => sampler.close());
  await sampler.sample([{ group, topic }]);

  // Each round moves the committed offset while a sample is under way. The sample sees the new
  // offset or the old one; when it sees the new one, its time must not precede the commit.
  let seenInFlight = 0;
  for (let offset = 1; offset <= 40; offset++) {
    const sample = sampler.sample([{ group, topic }]);
    await new Promise((res) => setImmediate(res));
    const sentAt = Date.now();
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(offset) }]);
    const [g] = await sample;
    if (g!.partitions[0]!.committed === BigInt(offset)) {
      seenInFlight++;
      expect(g!.at).toBeGreaterThanOrEqual(sentAt);
    }
  }
  // Otherwise no commit landed mid-sample and the check above never ran.
  expect(seenInFlight).toBeGreaterThan(0);
});
