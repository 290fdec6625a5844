import type { IHeaders, Kafka } from 'kafkajs';
import { KafkaClientUnsupportedError, KafkaReadError } from './kafka-errors';

/**
 * Reads partitions directly, without joining a consumer group: offsets with ListOffsets and
 * records with Fetch, both at READ_COMMITTED. The lag monitor and the DLQ tools need both, and
 * kafkajs 2.2 offers neither in public: `admin.fetchTopicOffsets` has no isolation level (it gets
 * READ_COMMITTED only because the ListOffsets v2+ encoder defaults to it), and a consumer can
 * read one offset only after joining a group, which leaves a group behind and triggers a
 * rebalance for every peek.
 *
 * So this goes one layer down, to the cluster kafkajs builds for its own clients, created with
 * an explicit READ_COMMITTED isolation level and the Kafka client's brokers, TLS, SASL and retry.
 * That reaches into kafkajs internals (pinned at ^2.2.4): if they move, this throws
 * KafkaClientUnsupportedError at once instead of reading the wrong offsets.
 *
 * Failure codes: STS_KAFKA_CLIENT_UNSUPPORTED, STS_KAFKA_READ_FAILED (retriable).
 */

/** Offsets of one partition. `stable` is the last stable offset (LSO), not the high watermark. */
export interface PartitionOffsets {
  partition: number;
  /** Log start offset: the oldest offset still on the broker. */
  start: bigint;
  /** Last stable offset: everything below it is committed data or a transaction marker. */
  stable: bigint;
}

/** A record a read_committed consumer would see: committed data, never a marker or aborted. */
export interface VisibleRecord {
  partition: number;
  offset: bigint;
  /** Milliseconds since the epoch (the broker's append time on pipeline topics). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

interface RawMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  isControlRecord: boolean;
  batchContext: unknown;
}

interface RawBroker {
  fetch(
    req: object,
  ): Promise<{
    responses: Array<{
      partitions: Array<{ abortedTransactions: unknown[]; messages: RawMessage[] }>;
    }>;
  }>;
}

interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findBroker(q: { nodeId: string }): Promise<RawBroker>;
  fetchTopicsOffset(
    q: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

type AbortFilter = (q: { messages: RawMessage[]; abortedTransactions: unknown[] }) => RawMessage[];

const READ_COMMITTED = 1;
/** Per fetch; a batch bigger than this still arrives whole (KIP-74), so this only bounds reads. */
const FETCH_MAX_BYTES = 1024 * 1024;
const LEADER_MOVED = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

export class PartitionReader {
  private readonly cluster: RawCluster;
  private readonly filterAborted: AbortFilter;
  private connected?: Promise<void>;

  constructor(kafka: Kafka) {
    const create = Object.getOwnPropertySymbols(kafka).find(
      (s) => s.description === 'private:Kafka:createCluster',
    );
    const factory = create ? (kafka as unknown as Record<symbol, unknown>)[create] : undefined;
    if (typeof factory !== 'function')
      throw new KafkaClientUnsupportedError('the Kafka client has no cluster factory');
    this.cluster = factory({
      allowAutoTopicCreation: false,
      isolationLevel: READ_COMMITTED,
      maxInFlightRequests: null,
    }) as RawCluster;
    try {
      // The same filter kafkajs consumers apply: records of aborted transactions never count.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module, no types
      this.filterAborted = require('kafkajs/src/consumer/filterAbortedMessages') as AbortFilter;
    } catch (err) {
      throw new KafkaClientUnsupportedError(
        'kafkajs/src/consumer/filterAbortedMessages is missing',
        err,
      );
    }
  }

  /** Log start and last stable offset of every partition of `topic`, in partition order. */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.guard(topic, async () => {
      await this.ready(topic);
      const partitions = this.cluster
        .findTopicPartitionMetadata(topic)
        .map((p) => ({ partition: p.partitionId }));
      if (partitions.length === 0) throw new KafkaReadError(topic, 'the topic does not exist');
      const [stable, start] = await Promise.all([
        this.cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]),
        this.cluster.fetchTopicsOffset([{ topic, fromBeginning: true, partitions }]),
      ]);
      const startOf = new Map(start[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
      return stable[0]!.partitions
        .map((p) => ({
          partition: p.partition,
          start: startOf.get(p.partition) ?? 0n,
          stable: BigInt(p.offset),
        }))
        .sort((a, b) => a.partition - b.partition);
    });
  }

  /** The first visible record at or after `from` and below `until`, or null if there is none. */
  async firstVisible(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): Promise<VisibleRecord | null> {
    for await (const record of this.read(topic, partition, from, until)) return record;
    return null;
  }

  /**
   * Visible records with `from <= offset < until`, in offset order. `until` must not pass the
   * LSO: a read_committed fetch returns nothing beyond it, and the read fails with "no progress".
   */
  async *read(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncGenerator<VisibleRecord> {
    let next = from;
    while (next < until) {
      const fetchOffset = next;
      const raw = await this.guard(topic, () => this.fetchOnce(topic, partition, fetchOffset));
      if (raw.messages.length === 0)
        throw new KafkaReadError(
          topic,
          `no progress reading partition ${partition} at offset ${fetchOffset} (below ${until})`,
        );
      const inRange = raw.messages.filter((m) => BigInt(m.offset) >= fetchOffset);
      const visible = this.filterAborted({
        messages: inRange,
        abortedTransactions: raw.abortedTransactions,
      }).filter((m) => !m.isControlRecord);
      for (const m of visible) {
        const offset = BigInt(m.offset);
        if (offset >= until) return;
        yield {
          partition,
          offset,
          timestamp: Number(m.timestamp),
          key: m.key,
          value: m.value,
          headers: m.headers,
        };
      }
      const last = inRange.length > 0 ? BigInt(inRange[inRange.length - 1]!.offset) : fetchOffset;
      next = last + 1n;
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.cluster.disconnect().catch(() => undefined);
    this.connected = undefined;
  }

  private async ready(topic: string): Promise<void> {
    this.connected ??= this.cluster.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    await this.cluster.addTargetTopic(topic);
  }

  private async fetchOnce(topic: string, partition: number, fetchOffset: bigint) {
    await this.ready(topic);
    const meta = this.cluster
      .findTopicPartitionMetadata(topic)
      .find((p) => p.partitionId === partition);
    if (!meta) throw new KafkaReadError(topic, `partition ${partition} does not exist`);
    const broker = await this.cluster.findBroker({ nodeId: String(meta.leader) });
    const res = await broker.fetch({
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 0,
      minBytes: 0,
      maxBytes: FETCH_MAX_BYTES,
      topics: [
        {
          topic,
          partitions: [
            { partition, fetchOffset: fetchOffset.toString(), maxBytes: FETCH_MAX_BYTES },
          ],
        },
      ],
    });
    const p = res.responses[0]?.partitions[0];
    return { messages: p?.messages ?? [], abortedTransactions: p?.abortedTransactions ?? [] };
  }

  /** One retry after a metadata refresh when the leader moved; everything else is reported. */
  private async guard<T>(topic: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof KafkaReadError || err instanceof KafkaClientUnsupportedError) throw err;
      const type = (err as { type?: string }).type ?? '';
      if (LEADER_MOVED.has(type)) {
        await this.cluster.refreshMetadata().catch(() => undefined);
        try {
          return await work();
        } catch (again) {
          throw new KafkaReadError(topic, (again as Error).message, again);
        }
      }
      throw new KafkaReadError(topic, (err as Error).message, err);
    }
  }
}
