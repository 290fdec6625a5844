import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import { StsError } from '../../runtime/errors';
import { KafkaReadError } from '../../runtime/kafka/kafka-errors';
import { PartitionReader, type PartitionOffsets } from '../../runtime/kafka/partition-reader';
import type { Topology } from '../../runtime/topology/types';
import { sampleCluster, type ClusterSample } from './cluster-sampler';

/**
 * One observation of consumer lag: per group, topic and partition, the committed offset, the
 * end of the log and what lies between. The rules that judge a series of samples are in
 * lag-evaluator.ts; this file only measures.
 *
 * - The end is the LAST STABLE OFFSET (ListOffsets at READ_COMMITTED, see partition-reader.ts),
 *   so records of an open transaction are not lag yet.
 * - Lag counts from the first record a read_committed consumer would actually get at or after the
 *   committed offset. A consumer that commits "last record + 1" leaves its committed offset ON the
 *   commit marker that follows a transaction; counting from the committed offset would show one
 *   message of lag forever on a fully consumed partition. Markers and aborted records further on,
 *   inside a real backlog, still count (one per transaction), as in Burrow.
 * - Lag seconds is the age of that record: now minus its timestamp (append time on pipeline
 *   topics). The record is fetched once and cached while the committed offset stays put.
 */

export interface LagTarget {
  group: string;
  topic: string;
}

export interface PartitionSample {
  partition: number;
  /** null when the group has no committed offset here; lag then counts from the log start. */
  committed: bigint | null;
  logStart: bigint;
  /** Last stable offset. */
  end: bigint;
  lag: bigint;
  /** Offset of the next record the group will process; null when caught up. */
  nextOffset: bigint | null;
  /** Age of that record in seconds; 0 when caught up. */
  lagSeconds: number;
  /** The member that owns the partition (clientId@host), when the group has members. */
  owner: string | null;
}

/** kafkajs group states; Dead is what the coordinator answers for a group it does not know. */
export type GroupState =
  'Stable' | 'Empty' | 'Dead' | 'PreparingRebalance' | 'CompletingRebalance' | 'Unknown';

export interface GroupSample extends LagTarget {
  /** Milliseconds since the epoch. */
  at: number;
  state: GroupState;
  members: number;
  partitions: PartitionSample[];
  /** The sample of this group failed (a missing topic, say); the other groups are unaffected. */
  error?: { code: string; message: string };
}

/** Every processor's group over its input topic, as the topology declares them. */
export function topologyTargets(topology: Topology): LagTarget[] {
  return topology.processors.map((p) => ({ group: p.group, topic: p.input }));
}

interface NextRecordCache {
  from: bigint;
  /** Offsets below this and at/after `from` hold no visible record (when `found` is unset). */
  scannedTo: bigint;
  found?: { offset: bigint; timestamp: number };
}

export class LagSampler {
  private readonly reader: PartitionReader;
  private admin?: Admin;
  private connected?: Promise<void>;
  private readonly next = new Map<string, NextRecordCache>();

  constructor(
    private readonly kafka: Kafka,
    private readonly clock: () => number = Date.now,
  ) {
    this.reader = new PartitionReader(kafka);
  }

  async sample(targets: LagTarget[]): Promise<GroupSample[]> {
    const admin = await this.connect();
    const groupIds = [...new Set(targets.map((t) => t.group))];
    const described = groupIds.length > 0 ? (await admin.describeGroups(groupIds)).groups : [];
    const topicOffsets = new Map<string, Promise<PartitionOffsets[]>>();
    const offsetsOf = (topic: string) => {
      let p = topicOffsets.get(topic);
      if (!p) topicOffsets.set(topic, (p = this.reader.offsets(topic)));
      return p;
    };
    const seen = new Set<string>();
    const out = await Promise.all(
      targets.map(async (t): Promise<GroupSample> => {
        const d = described.find((g) => g.groupId === t.group);
        const state = (d?.state ?? 'Unknown') as GroupState;
        const members = d?.members ?? [];
        try {
          const owners = ownersOf(members, t.topic);
          const [ends, committed] = await Promise.all([
            offsetsOf(t.topic),
            admin.fetchOffsets({ groupId: t.group, topics: [t.topic] }),
          ]);
          // Stamped once the offsets are read, never before: a commit that lands while they are
          // in flight is then never dated earlier than it happened, so "unchanged for N s"
          // (STALLED) cannot be claimed before the offset has truly stood still that long.
          const at = this.clock();
          const committedOf = new Map(
            (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
          );
          const partitions = await Promise.all(
            ends.map(async (e) => {
              const c = committedOf.get(e.partition) ?? -1n;
              const key = `${t.group}\u0000${t.topic}\u0000${e.partition}`;
              seen.add(key);
              return this.measure(
                key,
                t.topic,
                e,
                c < 0n ? null : c,
                at,
                owners.get(e.partition) ?? null,
              );
            }),
          );
          return { ...t, at, state, members: members.length, partitions };
        } catch (err) {
          // A kafkajs error here is a broker read that failed (a missing topic, a moved leader).
          const e =
            err instanceof StsError
              ? err
              : new KafkaReadError(t.topic, (err as Error).message, err);
          return {
            ...t,
            at: this.clock(),
            state,
            members: members.length,
            partitions: [],
            error: { code: e.code, message: e.message },
          };
        }
      }),
    );
    // Forget partitions no longer sampled, so a long-running monitor does not grow.
    for (const key of this.next.keys()) if (!seen.has(key)) this.next.delete(key);
    return out;
  }

  /** The brokers and the replicas of `topics` (cluster-sampler.ts); never throws. */
  cluster(topics: string[]): Promise<ClusterSample> {
    return sampleCluster(() => this.connect(), topics);
  }

  async close(): Promise<void> {
    await this.reader.close();
    if (this.connected) await this.admin?.disconnect().catch(() => undefined);
    this.connected = undefined;
  }

  private async connect(): Promise<Admin> {
    this.admin ??= this.kafka.admin();
    this.connected ??= this.admin.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    return this.admin;
  }

  private async measure(
    key: string,
    topic: string,
    e: PartitionOffsets,
    committed: bigint | null,
    at: number,
    owner: string | null,
  ): Promise<PartitionSample> {
    // Below the log start the records are gone (retention); the group resumes at the start.
    const from = committed === null || committed < e.start ? e.start : committed;
    const base = { partition: e.partition, committed, logStart: e.start, end: e.stable, owner };
    if (from >= e.stable) return { ...base, lag: 0n, nextOffset: null, lagSeconds: 0 };
    const found = await this.nextRecord(key, topic, e.partition, from, e.stable);
    if (!found) return { ...base, lag: 0n, nextOffset: null, lagSeconds: 0 };
    return {
      ...base,
      lag: e.stable - found.offset,
      nextOffset: found.offset,
      lagSeconds: Math.max(0, (at - found.timestamp) / 1000),
    };
  }

  /** The first visible record in [from, end); cached per group partition while `from` holds. */
  private async nextRecord(
    key: string,
    topic: string,
    partition: number,
    from: bigint,
    end: bigint,
  ) {
    let c = this.next.get(key);
    if (!c || c.from !== from) this.next.set(key, (c = { from, scannedTo: from }));
    if (c.found) return c.found;
    if (c.scannedTo >= end) return undefined;
    const record = await this.reader.firstVisible(topic, partition, c.scannedTo, end);
    if (record) c.found = { offset: record.offset, timestamp: record.timestamp };
    else c.scannedTo = end;
    return c.found;
  }
}

/** partition -> "clientId@host" of the member it is assigned to. */
function ownersOf(
  members: Array<{ clientId: string; clientHost: string; memberAssignment: Buffer }>,
  topic: string,
): Map<number, string> {
  const owners = new Map<number, string>();
  for (const m of members) {
    const decoded = m.memberAssignment?.length
      ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
      : null;
    for (const p of decoded?.assignment[topic] ?? [])
      owners.set(p, `${m.clientId}@${m.clientHost.replace(/^\//, '')}`);
  }
  return owners;
}
