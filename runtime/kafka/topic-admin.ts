import type { Kafka } from 'kafkajs';
import { dlqTopic, type Topology } from '../topology/types';

/**
 * Creates the topology's topics and DLQs. Existing topics are left alone; a topic with fewer
 * partitions than declared is grown (never shrunk: Kafka cannot, and keys would move).
 */
export async function ensureTopics(kafka: Kafka, topology: Topology): Promise<{ created: string[] }> {
  const wanted = new Map<string, number>();
  for (const t of topology.topics) {
    wanted.set(t.name, t.partitions);
    // DLQs are low-volume; 3 partitions keep replays parallel without 12 idle logs each.
    if (t.dlq) wanted.set(dlqTopic(t.name), 3);
  }
  return ensureTopicList(kafka, [...wanted].map(([topic, numPartitions]) => ({ topic, numPartitions })));
}

export async function ensureTopicList(kafka: Kafka, topics: Array<{ topic: string; numPartitions: number }>) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
    }
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      const grow = meta.topics
        .map((m) => ({ topic: m.name, have: m.partitions.length, want: present.find((t) => t.topic === m.name)!.numPartitions }))
        .filter((x) => x.have < x.want)
        .map((x) => ({ topic: x.topic, count: x.want }));
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
    }
    return { created: missing.map((t) => t.topic) };
  } finally {
    await admin.disconnect();
  }
}
