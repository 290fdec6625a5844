import type { Kafka } from 'kafkajs';
import type { Knex } from 'knex';
import { WatermarkNotReachedError } from './close-errors';
import { GROUPS, TOPICS } from '../../topologies/settlement';

/**
 * "Everything produced before the cutoff is consumed and committed" (issue 5, lesson 3), checked
 * per partition against the broker, never assumed:
 *   1. for each input stage, the target offset of a partition is the first offset whose timestamp
 *      is at or after the cutoff (the log end if there is none); the stage's group must have
 *      committed at least that far;
 *   2. the outbox must hold no unpublished row for a derived topic (commission requests written by
 *      the events of step 1);
 *   3. each derived stage's group must have committed up to the log end read after step 2.
 * A group commits only after its transaction, so a committed offset means the effects exist.
 */
export interface WatermarkStage {
  topic: string;
  group: string;
}

export interface WatermarkPlan {
  inputs: WatermarkStage[];
  derived: WatermarkStage[];
}

export const SETTLEMENT_WATERMARK: WatermarkPlan = {
  inputs: [
    { topic: TOPICS.orderEvents, group: GROUPS.settlementAggregation },
    { topic: TOPICS.uploadChunks, group: GROUPS.uploadIngestion },
  ],
  derived: [{ topic: TOPICS.commissionRequests, group: GROUPS.commission }],
};

export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  committed: bigint;
  target: bigint;
}

export async function waitForWatermark(
  kafka: Kafka,
  db: Knex,
  opts: { cutoff: Date; plan?: WatermarkPlan; timeoutMs?: number; pollMs?: number; onWait?: (lagging: PartitionLag[]) => void },
): Promise<void> {
  const plan = opts.plan ?? SETTLEMENT_WATERMARK;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const inputTargets = await Promise.all(plan.inputs.map(async (s) => ({ stage: s, targets: await targetsAt(admin, s.topic, opts.cutoff.getTime()) })));
    await until(deadline, opts, () => lagging(admin, inputTargets), 'input topics');
    const topics = plan.derived.map((d) => d.topic);
    await until(deadline, opts, async () => (await unpublished(db, topics)) === 0 ? [] : [{ group: 'outbox-relay', topic: topics.join(','), partition: -1, committed: 0n, target: 1n }], 'outbox');
    const derivedTargets = await Promise.all(plan.derived.map(async (s) => ({ stage: s, targets: await targetsAt(admin, s.topic, undefined) })));
    await until(deadline, opts, () => lagging(admin, derivedTargets), 'derived topics');
  } finally {
    await admin.disconnect();
  }
}

type Admin = ReturnType<Kafka['admin']>;

/** Per partition: the first offset at/after `timestamp`, or the log end when `timestamp` is undefined or later than every record. */
async function targetsAt(admin: Admin, topic: string, timestamp: number | undefined): Promise<Map<number, bigint>> {
  const entries = timestamp === undefined ? await admin.fetchTopicOffsets(topic) : await admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
  return new Map(entries.map((e) => [e.partition, BigInt(e.offset)]));
}

async function lagging(admin: Admin, stages: Array<{ stage: WatermarkStage; targets: Map<number, bigint> }>): Promise<PartitionLag[]> {
  const out: PartitionLag[] = [];
  for (const { stage, targets } of stages) {
    const [committed] = await admin.fetchOffsets({ groupId: stage.group, topics: [stage.topic] });
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const [partition, target] of targets) {
      // -1 means "nothing committed": fine only where there is nothing to consume.
      const done = byPartition.get(partition) ?? -1n;
      if (target > 0n && done < target) out.push({ group: stage.group, topic: stage.topic, partition, committed: done, target });
    }
  }
  return out;
}

async function unpublished(db: Knex, topics: string[]): Promise<number> {
  const [row] = (await db('outbox').whereNull('published_at').whereIn('topic', topics).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

async function until(deadline: number, opts: { pollMs?: number; onWait?: (l: PartitionLag[]) => void }, check: () => Promise<PartitionLag[]>, what: string): Promise<void> {
  for (;;) {
    const behind = await check();
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      const report = behind
        .slice(0, 20)
        .map((l) => (l.partition < 0 ? `${l.topic}: outbox rows not yet published` : `${l.group} ${l.topic}[${l.partition}] committed ${l.committed} < ${l.target}`))
        .join('; ');
      throw new WatermarkNotReachedError(`the watermark was not reached (${what}): ${behind.length} partition(s) behind: ${report}`, report);
    }
    opts.onWait?.(behind);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
