import type { Admin } from 'kafkajs';

/**
 * One observation of the Kafka cluster under the lag report: which brokers answer, and for each
 * partition of the sampled topics its leader, replicas and in-sync replicas. A partition whose
 * ISR is shorter than its replica list is under-replicated (one more failure and acks=all writes
 * to it stop, with min.insync.replicas 2 on three copies); one with no leader is offline.
 *
 * "Down" is read from the cluster's own metadata: a broker id that a partition lists as a replica
 * but that the cluster no longer lists as a live broker. A broker that never held a replica of
 * the sampled topics cannot be told from one that was never there, which is why a node that is
 * down right after a restart of the whole cluster may not show until it is assigned something.
 */
export interface BrokerView {
  id: number;
  /** host:port, or null for a broker only known from a replica list (it is down). */
  address: string | null;
  up: boolean;
}

export interface ReplicaView {
  topic: string;
  partition: number;
  /** -1 when the partition has no leader (offline). */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface ClusterSample {
  brokers: BrokerView[];
  partitions: ReplicaView[];
  /** Partitions whose ISR is shorter than their replica list. */
  underReplicated: number;
  /** Partitions with no leader: neither readable nor writable. */
  offline: number;
  /** Why the cluster could not be read, when it could not; the lag sample still stands. */
  error?: string;
}

/** Never throws: a cluster that cannot be read is a sample with `error` set. */
export async function sampleCluster(
  connect: () => Promise<Admin>,
  topics: string[],
): Promise<ClusterSample> {
  try {
    const admin = await connect();
    const [cluster, metadata] = await Promise.all([
      admin.describeCluster(),
      admin.fetchTopicMetadata({ topics: [...new Set(topics)] }),
    ]);
    const partitions: ReplicaView[] = metadata.topics.flatMap((t) =>
      t.partitions
        .map((p) => ({
          topic: t.name,
          partition: p.partitionId,
          leader: p.leader,
          replicas: [...p.replicas].sort((a, b) => a - b),
          isr: [...p.isr].sort((a, b) => a - b),
        }))
        .sort((a, b) => a.partition - b.partition),
    );
    const live = new Map(cluster.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
    const ids = new Set([...live.keys(), ...partitions.flatMap((p) => p.replicas)]);
    const brokers = [...ids]
      .sort((a, b) => a - b)
      .map((id) => ({ id, address: live.get(id) ?? null, up: live.has(id) }));
    return {
      brokers,
      partitions,
      underReplicated: partitions.filter((p) => p.isr.length < p.replicas.length).length,
      offline: partitions.filter((p) => p.leader < 0).length,
    };
  } catch (err) {
    return {
      brokers: [],
      partitions: [],
      underReplicated: 0,
      offline: 0,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}
