import type { IHeaders, Kafka } from 'kafkajs';
import type { Knex } from '../../runtime/db/knex';
import { NotFoundError } from '../../runtime/errors';
import { DlqReplayRefusedError } from './dlq-errors';
import { PartitionReader, type VisibleRecord } from '../../runtime/kafka/partition-reader';
import { DLQ_HEADERS } from '../../runtime/processor/dlq-publisher';
import { headerString, originalHeaders, readDeadLetter, REPLAYED_FROM_HEADER } from './dlq-letters';

/**
 * Replays dead letters to the topic they came from: the original key, value and headers, on the
 * original partition (so a seller's events keep their partition), plus `sts-replayed-from:
 * <dlq topic>/<partition>/<offset>`.
 *
 * Each DLQ coordinate is replayed at most once: its dlq_replay row is inserted in the transaction
 * that wraps the publish, so a concurrent replay of the same coordinate waits on the row lock and
 * then finds it taken, and a later one finds it at once; both report it as skipped. A crash
 * between publish and commit leaves no row, so a rerun publishes again: that copy is a no-op,
 * because every processor applies an effect once per business idempotency key
 * (docs/DESIGN.md, "Guarantees"). A replay that fails again lands in the DLQ at a NEW coordinate,
 * which can be replayed in turn.
 *
 * Failure codes: STS_DLQ_REPLAY_REFUSED (bad arguments, no original topic), STS_NOT_FOUND (no
 * record at the coordinate), STS_KAFKA_READ_FAILED.
 */

export interface ReplayRequest {
  /** The DLQ topic, or the topic whose DLQ it is. */
  dlqTopic: string;
  partition?: number;
  offset?: bigint;
  all?: boolean;
  /** Recorded as replayed_by: `cli:<user>`, `api:<token name>`. */
  actor: string;
}

export interface ReplayedLetter {
  dlq: { topic: string; partition: number; offset: bigint };
  to: { topic: string; partition: number; offset: bigint | null };
}

export interface SkippedLetter {
  dlq: { topic: string; partition: number; offset: bigint };
  reason: string;
}

export interface ReplayResult {
  replayed: ReplayedLetter[];
  skipped: SkippedLetter[];
}

export async function replayDeadLetters(
  deps: { kafka: Kafka; db: Knex },
  req: ReplayRequest,
): Promise<ReplayResult> {
  const single = req.partition !== undefined || req.offset !== undefined;
  if (
    single === Boolean(req.all) ||
    (single && (req.partition === undefined || req.offset === undefined))
  ) {
    throw new DlqReplayRefusedError(
      'give either --partition and --offset of one dead letter, or --all',
      { topic: req.dlqTopic },
    );
  }
  const reader = new PartitionReader(deps.kafka);
  const producer = deps.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let connected = false;
  try {
    const letters = single
      ? [await one(reader, req.dlqTopic, req.partition!, req.offset!)]
      : await everything(reader, req.dlqTopic);
    const result: ReplayResult = { replayed: [], skipped: [] };
    const done = await alreadyReplayed(deps.db, req.dlqTopic);
    for (const letter of letters) {
      const dlq = { topic: req.dlqTopic, partition: letter.partition, offset: letter.offset };
      const earlier = done.get(`${letter.partition}/${letter.offset}`);
      if (earlier) {
        result.skipped.push({ dlq, reason: earlier });
        continue;
      }
      const target = targetOf(req.dlqTopic, letter);
      if (typeof target === 'string') {
        if (single)
          throw new DlqReplayRefusedError(
            target,
            { topic: req.dlqTopic, partition: letter.partition, offset: letter.offset.toString() },
            'a record without its origin cannot be replayed; produce a corrected event to the right topic instead',
          );
        result.skipped.push({ dlq, reason: target });
        continue;
      }
      if (!connected) await producer.connect().then(() => (connected = true));
      const outcome = await replayOne(deps.db, producer, req, letter, target);
      if (outcome.replayed)
        result.replayed.push({ dlq, to: { ...target, offset: outcome.offset } });
      else result.skipped.push({ dlq, reason: outcome.reason });
    }
    return result;
  } finally {
    if (connected) await producer.disconnect().catch(() => undefined);
    await reader.close();
  }
}

async function one(
  reader: PartitionReader,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<VisibleRecord> {
  const r = await readDeadLetter(reader, topic, partition, offset);
  if (!r) throw new NotFoundError('dead letter', `${topic}/${partition}/${offset}`);
  return r;
}

async function everything(reader: PartitionReader, topic: string): Promise<VisibleRecord[]> {
  const out: VisibleRecord[] = [];
  for (const p of await reader.offsets(topic))
    for await (const r of reader.read(topic, p.partition, p.start, p.stable)) out.push(r);
  return out;
}

/** Where a letter goes back to, from its headers; a string says why it cannot. */
function targetOf(
  dlqTopic: string,
  r: VisibleRecord,
): { topic: string; partition: number } | string {
  const topic = headerString(r.headers, DLQ_HEADERS.topic);
  const partition = headerString(r.headers, DLQ_HEADERS.partition);
  if (!topic) return `${dlqTopic}/${r.partition}/${r.offset} has no ${DLQ_HEADERS.topic} header`;
  if (topic === dlqTopic)
    return `${dlqTopic}/${r.partition}/${r.offset} names its own DLQ as origin`;
  if (partition === null || !/^\d{1,9}$/.test(partition))
    return `${dlqTopic}/${r.partition}/${r.offset} has no valid ${DLQ_HEADERS.partition} header`;
  // A letter cut to fit the DLQ's size limit is not the input any more: replaying it would send a
  // different record. The original is still in its topic at the coordinates.
  const truncated = headerString(r.headers, DLQ_HEADERS.truncated);
  if (truncated)
    return `${dlqTopic}/${r.partition}/${r.offset} was cut to fit the DLQ (${truncated}); re-produce the original from ${topic}/${partition} at offset ${headerString(r.headers, DLQ_HEADERS.offset) ?? '?'}`;
  return { topic, partition: Number(partition) };
}

type Outcome = { replayed: true; offset: bigint | null } | { replayed: false; reason: string };

async function replayOne(
  db: Knex,
  producer: ReturnType<Kafka['producer']>,
  req: ReplayRequest,
  r: VisibleRecord,
  target: { topic: string; partition: number },
): Promise<Outcome> {
  const origOffset = headerString(r.headers, DLQ_HEADERS.offset);
  return db.transaction(async (trx): Promise<Outcome> => {
    try {
      await trx('dlq_replay').insert({
        dlq_topic: req.dlqTopic,
        dlq_partition: r.partition,
        dlq_offset: r.offset.toString(),
        original_topic: target.topic,
        original_partition: target.partition,
        original_offset: origOffset !== null && /^\d+$/.test(origOffset) ? origOffset : null,
        replayed_by: req.actor.slice(0, 128),
      });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ER_DUP_ENTRY') throw err;
      return { replayed: false, reason: 'replayed concurrently by another request' };
    }
    const headers: IHeaders = {
      ...originalHeaders(r.headers),
      [REPLAYED_FROM_HEADER]: `${req.dlqTopic}/${r.partition}/${r.offset}`,
    };
    const [meta] = await producer.send({
      topic: target.topic,
      acks: -1,
      messages: [{ key: r.key, value: r.value, headers, partition: target.partition }],
    });
    const offset = meta?.baseOffset !== undefined ? BigInt(meta.baseOffset) : null;
    if (offset !== null) {
      await trx('dlq_replay')
        .where({ dlq_topic: req.dlqTopic, dlq_partition: r.partition })
        .andWhere('dlq_offset', trx.raw('CAST(? AS SIGNED)', [r.offset.toString()]))
        .update({ replay_offset: offset.toString() });
    }
    return { replayed: true, offset };
  });
}

/** "partition/offset" -> why it is skipped, for coordinates of this DLQ replayed before. */
async function alreadyReplayed(db: Knex, dlqTopic: string): Promise<Map<string, string>> {
  const rows = (await db('dlq_replay')
    .where('dlq_topic', dlqTopic)
    .select(
      'dlq_partition',
      'dlq_offset',
      'replayed_by',
      'replayed_at',
      'replay_offset',
    )) as Array<{
    dlq_partition: number;
    dlq_offset: string;
    replayed_by: string;
    replayed_at: Date;
    replay_offset: string | null;
  }>;
  return new Map(
    rows.map((x) => [
      `${x.dlq_partition}/${BigInt(x.dlq_offset)}`,
      `already replayed at ${x.replayed_at.toISOString()} by ${x.replayed_by}${x.replay_offset === null ? '' : ` (offset ${x.replay_offset})`}`,
    ]),
  );
}
