import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { TopicsNotReadyError } from './kafka-errors';
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

/**
 * How many copies a topic keeps on a cluster of `brokers` nodes, and how many must acknowledge a
 * write (producers use acks=all): three and two where there are three nodes or more, so losing one
 * node loses no acknowledged record and stops no producer; one and one on a single node.
 */
export function replicationFor(brokers: number): { replicationFactor: number; minInsyncReplicas: number } {
  const replicationFactor = Math.max(1, Math.min(3, brokers));
  return { replicationFactor, minInsyncReplicas: replicationFactor >= 3 ? 2 : 1 };
}

export async function ensureTopicList(kafka: Kafka, topics: TopicSpec[]) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const { replicationFactor, minInsyncReplicas } = replicationFor(await brokerCount(admin));
      const minIsr = { name: 'min.insync.replicas', value: String(minInsyncReplicas) };
      await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor, configEntries: [...(t.configEntries ?? []), minIsr] })), waitForLeaders: false });
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

/**
 * The brokers of the cluster, as the best informed of three answers says: each answer comes from
 * some broker's metadata cache, and a node that registered a moment ago may be missing from one,
 * which would create a topic with fewer copies for good.
 */
async function brokerCount(admin: ReturnType<Kafka['admin']>): Promise<number> {
  let most = 0;
  for (let i = 0; i < 3; i++) most = Math.max(most, (await admin.describeCluster()).brokers.length);
  return most;
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
 * A request about topics, retried while the broker asked (on a cluster, any broker, not the one
 * that saw the topic created) does not know them yet; any other error, or one that lasts, is
 * thrown.
 */
export async function whenKnown<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LEADERS_WAIT_MS;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (!type || !NOT_YET.has(type) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** DescribeConfigs for topics, once every broker knows them (whenKnown). */
export function describeTopicConfigs(admin: ReturnType<Kafka['admin']>, names: string[]) {
  return whenKnown(() => admin.describeConfigs({ resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false }));
}

/**
 * Sets the declared config keys on existing topics where they differ. AlterConfigs replaces a
 * topic's dynamic config as a whole, so the topic's other dynamic keys are carried over.
 */
async function alignConfigs(admin: ReturnType<Kafka['admin']>, topics: TopicSpec[]): Promise<void> {
  if (topics.length === 0) return;
  const described = await describeTopicConfigs(admin, topics.map((t) => t.topic));
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

/**
 * Pipeline topics whose replication is not what this cluster's size asks for (replicationFor):
 * fewer copies than it could keep, or another min.insync.replicas. Created topics get it right;
 * one created on a smaller cluster, or changed by hand, drifts, and moving replicas is an
 * operator's decision (kafka-reassign-partitions), so this reports and changes nothing.
 */
export async function replicationDrift(kafka: Kafka, topology: Topology): Promise<string[]> {
  const names = topology.topics.flatMap((t) => (t.dlq ? [t.name, dlqTopic(t.name)] : [t.name]));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const want = replicationFor((await admin.describeCluster()).brokers.length);
    const existing = new Set(await admin.listTopics());
    const present = names.filter((n) => existing.has(n));
    const problems = names.filter((n) => !existing.has(n)).map((n) => `${n}: not created (run \`sts up\`)`);
    if (present.length === 0) return problems;
    const meta = await whenKnown(() => admin.fetchTopicMetadata({ topics: present }));
    for (const t of meta.topics) {
      const copies = Math.min(...t.partitions.map((p) => p.replicas.length));
      if (copies < want.replicationFactor) problems.push(`${t.name}: ${copies} replica(s), the cluster keeps ${want.replicationFactor}`);
    }
    const described = await describeTopicConfigs(admin, present);
    for (const r of described.resources) {
      const isr = r.configEntries.find((c) => c.configName === 'min.insync.replicas')?.configValue;
      if (isr !== String(want.minInsyncReplicas)) problems.push(`${r.resourceName}: min.insync.replicas ${isr ?? 'unset'}, the cluster wants ${want.minInsyncReplicas}`);
    }
    return problems;
  } finally {
    await admin.disconnect();
  }
}
