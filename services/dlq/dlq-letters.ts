import type { IHeaders, Kafka } from 'kafkajs';
import type { Knex } from '../../runtime/db/knex';
import { ConfigError } from '../../runtime/errors';
import { PartitionReader, type VisibleRecord } from '../../runtime/kafka/partition-reader';
import { DLQ_HEADERS } from '../../runtime/processor/dlq-publisher';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import { dlqTopic, type Topology } from '../../runtime/topology/types';
import { capText, PAYLOAD_VIEW_LIMITS, viewPayload, type PayloadView } from './payload-view';

/** Headers of the original record shown per letter. */
const MAX_HEADERS_SHOWN = 32;

/**
 * Reading dead letters: which DLQ topics there are, and each letter with its DLQ coordinates, its
 * origin (from the sts-original-* headers the DLQ publisher writes), the error, the decoded
 * payload and, if it was replayed, when and by whom (table dlq_replay).
 *
 * Records are read with direct partition fetches (runtime/kafka/partition-reader.ts), not a
 * consumer group: listing must not leave a group or committed offsets behind on every DLQ.
 */

/** The header a replayed record carries: `<dlq topic>/<partition>/<offset>` it was replayed from. */
export const REPLAYED_FROM_HEADER = 'sts-replayed-from';

export interface DeadLetterView {
  dlq: { topic: string; partition: number; offset: bigint; timestamp: string };
  original: {
    topic: string | null;
    partition: number | null;
    offset: bigint | null;
    timestamp: string | null;
  };
  error: { code: string | null; message: string | null };
  processor: string | null;
  key: string | null;
  /** The record's own headers, without the DLQ's sts-* ones. */
  headers: Record<string, string>;
  payload: PayloadView;
  /** Set when this DLQ coordinate was replayed. */
  replayed: { at: string; by: string; offset: bigint | null } | null;
}

export const DLQ_LIST_DEFAULTS = {
  /** Letters per DLQ topic, the newest ones. */
  limit: 100,
};

/** `T.dlq` for a topic T, a DLQ name as is; without a topic, every DLQ of the topology. */
export function dlqTopicsFor(topology: Topology, topic?: string): string[] {
  if (topic !== undefined) {
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic))
      throw new ConfigError(
        `${topic} is not a topic name`,
        'give a topic such as sts.order-events.v1 or its DLQ sts.order-events.v1.dlq',
      );
    return [topic.endsWith('.dlq') ? topic : dlqTopic(topic)];
  }
  return topology.topics.filter((t) => t.dlq).map((t) => dlqTopic(t.name));
}

export function headerString(headers: IHeaders | undefined, name: string): string | null {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? null : one.toString();
}

const DLQ_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS));

/** The record's headers minus the DLQ's own, as the original producer sent them. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  return Object.fromEntries(
    Object.entries(headers ?? {}).filter(([k]) => !DLQ_HEADER_NAMES.has(k)),
  ) as IHeaders;
}

/** The newest `limit` letters of each DLQ topic, oldest first within a topic. */
export async function listDeadLetters(
  deps: { kafka: Kafka; codec: AvroCodec; db: Knex },
  topics: string[],
  limit = DLQ_LIST_DEFAULTS.limit,
): Promise<DeadLetterView[]> {
  const reader = new PartitionReader(deps.kafka);
  try {
    const out: DeadLetterView[] = [];
    for (const topic of topics) {
      // Each record is turned into its bounded view as it is read and its bytes dropped, so a
      // listing holds views of a few KiB each, not up to `limit` megabyte records per partition.
      const views: DeadLetterView[] = [];
      for (const p of await reader.offsets(topic)) {
        // The newest `limit` offsets of each partition hold at least the newest `limit` letters.
        const from = p.stable - BigInt(limit) > p.start ? p.stable - BigInt(limit) : p.start;
        for await (const r of reader.read(topic, p.partition, from, p.stable))
          views.push(await view(deps.codec, topic, r, null));
      }
      views.sort(
        (a, b) =>
          a.dlq.timestamp.localeCompare(b.dlq.timestamp) ||
          a.dlq.partition - b.dlq.partition ||
          (a.dlq.offset < b.dlq.offset ? -1 : 1),
      );
      const kept = views.slice(Math.max(0, views.length - limit));
      const replays = await replaysOf(deps.db, topic, kept.map((v) => v.dlq.offset));
      for (const v of kept) out.push({ ...v, replayed: replays.get(`${v.dlq.partition}/${v.dlq.offset}`) ?? null });
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** One letter by its DLQ coordinates, or null when there is no record there. */
export async function readDeadLetter(
  reader: PartitionReader,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<VisibleRecord | null> {
  const p = (await reader.offsets(topic)).find((x) => x.partition === partition);
  if (!p || offset < p.start || offset >= p.stable) return null;
  const r = await reader.firstVisible(topic, partition, offset, offset + 1n);
  return r && r.offset === offset ? r : null;
}

async function view(
  codec: AvroCodec,
  topic: string,
  r: VisibleRecord,
  replayed: DeadLetterView['replayed'],
): Promise<DeadLetterView> {
  const h = (name: string) => {
    const v = headerString(r.headers, name);
    return v === null ? null : capText(v);
  };
  const origTs = h(DLQ_HEADERS.timestamp);
  const origPartition = h(DLQ_HEADERS.partition);
  const origOffset = h(DLQ_HEADERS.offset);
  return {
    dlq: {
      topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: new Date(r.timestamp).toISOString(),
    },
    original: {
      topic: h(DLQ_HEADERS.topic),
      partition:
        origPartition !== null && /^\d+$/.test(origPartition) ? Number(origPartition) : null,
      offset: origOffset !== null && /^\d+$/.test(origOffset) ? BigInt(origOffset) : null,
      timestamp:
        origTs !== null && /^\d+$/.test(origTs) ? new Date(Number(origTs)).toISOString() : null,
    },
    error: { code: h(DLQ_HEADERS.code), message: h(DLQ_HEADERS.message) },
    processor: h(DLQ_HEADERS.processor),
    key: r.key === null ? null : capText(r.key.subarray(0, 4 * PAYLOAD_VIEW_LIMITS.messageChars).toString()),
    // The producer's own headers are as untrusted as its value: a bounded number, each capped.
    headers: Object.fromEntries(
      Object.keys(originalHeaders(r.headers))
        .slice(0, MAX_HEADERS_SHOWN)
        .map((k) => [capText(k, 100), capText(headerString(r.headers, k) ?? '')]),
    ),
    payload: await viewPayload(codec, r.value),
    replayed,
  };
}

async function replaysOf(
  db: Knex,
  topic: string,
  offsets: bigint[],
): Promise<Map<string, DeadLetterView['replayed']>> {
  const out = new Map<string, DeadLetterView['replayed']>();
  if (offsets.length === 0) return out;
  const min = offsets.reduce((m, o) => (o < m ? o : m), offsets[0]!);
  // Typed parameters: the offset is compared as a BIGINT, never as a string
  // (docs/DESIGN.md, lesson 9).
  const rows = (await db('dlq_replay')
    .where('dlq_topic', topic)
    .andWhere('dlq_offset', '>=', db.raw('CAST(? AS SIGNED)', [min.toString()]))
    .select(
      'dlq_partition',
      'dlq_offset',
      'replay_offset',
      'replayed_by',
      'replayed_at',
    )) as Array<{
    dlq_partition: number;
    dlq_offset: string | number;
    replay_offset: string | number | null;
    replayed_by: string;
    replayed_at: Date;
  }>;
  for (const row of rows) {
    out.set(`${row.dlq_partition}/${BigInt(row.dlq_offset)}`, {
      at: row.replayed_at.toISOString(),
      by: row.replayed_by,
      offset: row.replay_offset === null ? null : BigInt(row.replay_offset),
    });
  }
  return out;
}
