import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { TopicsNotReadyError } from '../errors';
import { dlqTopic, type Topology } from '../topology/types';

/**
 * Every pipeline topic stamps records with the broker's append time, not the producer's:
 *  - a cycle close waits for "everything produced before the cutoff", which only append time
 *    answers exactly (timestamps rise with offsets, so offsetsForTimes is exact, and a producer's
 *    clock cannot move a record across the cutoff);
 *  - time-based retention then counts from arrival. With producer time, a backfilled event that
 *    occurred two weeks ago lands in a segment already past a 7-day retention and is deleted
 *    before anyone consumes it (seen in the exactness test before this setting).
 */
export const PIPELINE_TOPIC_CONFIG = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];

/**
 * Creates the topology's topics and DLQs, with PIPELINE_TOPIC_CONFIG. Existing topics get that
 * config set if it differs; a topic with fewer partitions than declared is grown (never shrunk:
 * Kafka cannot, and keys would move).
 */
export async function ensureTopics(kafka: Kafka, topology: Topology): Promise<{ created: string[] }> {
  const wanted = new Map<string, number>();
  for (const t of topology.topics) {
    wanted.set(t.name, t.partitions);
    // DLQs are low-volume; 3 partitions keep replays parallel without 12 idle logs each.
    if (t.dlq) wanted.set(dlqTopic(t.name), 3);
  }
  return ensureTopicList(kafka, [...wanted].map(([topic, numPartitions]) => ({ topic, numPartitions, configEntries: PIPELINE_TOPIC_CONFIG })));
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries?: Array<{ name: string; value: string }>;
}

export async function ensureTopicList(kafka: Kafka, topics: TopicSpec[]) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: false });
      await waitForLeaders(admin, missing.map((t) => t.topic));
    }
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      const grow = meta.topics
        .map((m) => ({ topic: m.name, have: m.partitions.length, want: present.find((t) => t.topic === m.name)!.numPartitions }))
        .filter((x) => x.have < x.want)
        .map((x) => ({ topic: x.topic, count: x.want }));
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
      await alignConfigs(admin, present.filter((t) => t.configEntries?.length));
    }
    return { created: missing.map((t) => t.topic) };
  } finally {
    await admin.disconnect();
  }
}

/** Errors a metadata answer gives while a new topic is still propagating to the brokers. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);
const LEADERS_WAIT_MS = 30_000;

/**
 * Waits until every partition of the new topics has a leader. kafkajs's own wait
 * (waitForLeaders) retries only LEADER_NOT_AVAILABLE, but a KRaft broker answers
 * UNKNOWN_TOPIC_OR_PARTITION until the controller's record reaches its metadata cache, and
 * kafkajs then fails a creation that succeeded (seen in CI as "This server does not host this
 * topic-partition").
 */
async function waitForLeaders(admin: ReturnType<Kafka['admin']>, topics: string[]): Promise<void> {
  const deadline = Date.now() + LEADERS_WAIT_MS;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.topics.flatMap((t) => t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}[${p.partitionId}]`));
      if (meta.topics.length === topics.length && leaderless.length === 0) return;
      last = `no leader for ${leaderless.slice(0, 5).join(', ') || 'some topics'}`;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (!type || !NOT_YET.has(type)) throw err;
      last = type;
    }
    if (Date.now() >= deadline) throw new TopicsNotReadyError(topics, `${last} after ${LEADERS_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Sets the declared config keys on existing topics where they differ. AlterConfigs replaces a
 * topic's dynamic config as a whole, so the topic's other dynamic keys are carried over.
 */
async function alignConfigs(admin: ReturnType<Kafka['admin']>, topics: TopicSpec[]): Promise<void> {
  if (topics.length === 0) return;
  const described = await admin.describeConfigs({ resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic })), includeSynonyms: false });
  const changes = [];
  for (const r of described.resources) {
    const spec = topics.find((t) => t.topic === r.resourceName)!;
    const differs = spec.configEntries!.some((want) => r.configEntries.find((c) => c.configName === want.name)?.configValue !== want.value);
    if (!differs) continue;
    const kept = r.configEntries.filter((c) => !c.isDefault && !c.readOnly && !spec.configEntries!.some((w) => w.name === c.configName)).map((c) => ({ name: c.configName, value: c.configValue }));
    changes.push({ type: ConfigResourceTypes.TOPIC, name: r.resourceName, configEntries: [...kept, ...spec.configEntries!] });
  }
  if (changes.length > 0) await admin.alterConfigs({ resources: changes, validateOnly: false });
}
