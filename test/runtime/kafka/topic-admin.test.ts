import { ensureTopicList } from '../../../runtime/kafka/topic-admin';
import { useTestResources } from '../../fixtures/resources';

/**
 * Many topics created at once, as parallel test files and harnesses do. A KRaft broker answers
 * "This server does not host this topic-partition" until a new topic reaches its metadata cache;
 * kafkajs's own leader wait gave up on that answer: in 10 rounds of 10 concurrent creations on
 * this broker, usually one or two whole rounds failed (and one such failure failed a CI run). Creation must instead return only once
 * every partition has a leader.
 */
describe('ensureTopicList under concurrent creation', () => {
  const res = useTestResources();

  it('creates 100 topics in 10 rounds of 10 concurrent calls, each with a leader on every partition when its call returns', async () => {
    const rounds = Array.from({ length: 10 }, (_, r) => Array.from({ length: 10 }, (_, i) => res.unique(`t.race-${r}-${i}`).replace(/_/g, '-')));
    const topics = rounds.flat();
    res.defer(async () => {
      const admin = res.kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics }).finally(() => admin.disconnect());
    });

    const admin = res.kafka.admin();
    await admin.connect();
    try {
      const outcomes: string[] = [];
      // Rounds, not one burst: the failure came a round at a time, when a round's creations
      // landed together in one metadata update.
      for (const round of rounds) {
        outcomes.push(
          ...(await Promise.all(
            round.map(async (topic) => {
              const { created } = await ensureTopicList(res.kafka, [{ topic, numPartitions: 12 }]).catch((err: Error) => ({ created: [err.message] }));
              if (created[0] !== topic) return `${topic}: ${created[0] ?? 'not created'}`;
              const meta = await admin.fetchTopicMetadata({ topics: [topic] });
              return `${meta.topics[0]!.partitions.filter((p) => p.leader >= 0).length} leaders`;
            }),
          )),
        );
      }
      expect(outcomes).toEqual(topics.map(() => '12 leaders'));
    } finally {
      await admin.disconnect();
    }
  });

  it('leaves an existing topic as it is and reports nothing created', async () => {
    const topic = await res.topic('existing', 2);
    await expect(ensureTopicList(res.kafka, [{ topic, numPartitions: 2 }])).resolves.toEqual({ created: [] });
  });
});
