import type { Consumer, EachBatchPayload } from 'kafkajs';
import { BatchAborted, BatchRunner, type PartitionControl } from './batch-runner';
import type { ProcessorDefinition, ProcessorDeps, ProcessorOverrides } from './definition';
import { DlqPublisher } from './dlq-publisher';
import { processorMetrics } from './processor-metrics';
import { resolveProcessorOptions } from './processor-options';

export interface ProcessorHandle {
  readonly name: string;
  /** Finishes the sub-batch in flight, commits it, leaves the group and disconnects. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs a processor: a kafkajs consumer in its own group over its own topic, driving BatchRunner
 * one partition batch at a time. Auto-commit and auto-resolve are OFF: kafkajs would otherwise
 * commit offsets on its own timer, possibly before the transaction holding their effects commits,
 * and a crash in between would lose those effects for good.
 *
 * Resolves once the consumer has joined and is running.
 */
export async function runProcessor<T>(
  def: ProcessorDefinition<T>,
  deps: ProcessorDeps,
  overrides: ProcessorOverrides = {},
): Promise<ProcessorHandle> {
  const options = resolveProcessorOptions({ ...def.options, ...overrides });
  const logger = deps.logger.child({ processor: def.name, group: def.group });
  const metrics = processorMetrics(deps.metricsRegistry);
  const dlq = new DlqPublisher(deps.kafka, def.name, {
    maxMessageBytes: options.dlqMaxMessageBytes,
  });
  const runner = new BatchRunner(def, {
    db: deps.db,
    codec: deps.codec,
    outbox: deps.outbox,
    dlq,
    metrics,
    options,
    logger,
  });

  const consumer: Consumer = deps.kafka.consumer({
    groupId: def.group,
    sessionTimeout: options.sessionTimeout,
    heartbeatInterval: options.heartbeatInterval,
    rebalanceTimeout: options.rebalanceTimeout,
    maxBytesPerPartition: options.maxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.CRASH, (e) =>
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed'),
  );
  consumer.on(consumer.events.GROUP_JOIN, (e) =>
    logger.info({ assignment: e.payload.memberAssignment }, 'joined group'),
  );

  // The companion's switch: kafkajs refuses pause() before run(), so the wish is kept and applied
  // once the consumer runs. It pauses the whole topic; a partition resumed by the runner's own
  // retry pause (withRetry) fetches again, which the companion must tolerate.
  let consuming = false;
  let pausedByCompanion = false;
  const applyPause = () => {
    if (!consuming) return;
    if (pausedByCompanion) consumer.pause([{ topic: def.topic }]);
    else consumer.resume([{ topic: def.topic }]);
  };
  const companion = def.companion
    ? await def.companion({
        deps,
        logger,
        pauseConsumption() {
          if (pausedByCompanion) return;
          pausedByCompanion = true;
          applyPause();
          logger.warn({ topic: def.topic }, 'consumption paused');
        },
        resumeConsumption() {
          if (!pausedByCompanion) return;
          pausedByCompanion = false;
          applyPause();
          logger.info({ topic: def.topic }, 'consumption resumed');
        },
      })
    : undefined;

  try {
    await consumer.connect();
    await consumer.subscribe({ topic: def.topic, fromBeginning: options.fromBeginning });
  } catch (err) {
    await companion?.stop();
    throw err;
  }
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (batch.messages.length === 0) return;
      try {
        await runner.run(
          batch.topic,
          batch.partition,
          batch.messages,
          controlFor(payload, (reason, err) => {
            metrics.commitsRefused.inc({ processor: def.name, reason });
            logger.warn(
              { topic: batch.topic, partition: batch.partition, reason, err },
              'offset commit refused: the group moved on without this member (fenced); whoever owns the partition now redoes the batch, whose effects are no-ops by key',
            );
          }),
        );
      } catch (err) {
        // Left uncommitted on purpose: the records come back to whoever owns the partition next.
        if (err instanceof BatchAborted) {
          logger.info(
            { topic: batch.topic, partition: batch.partition },
            'batch given back uncommitted',
          );
          return;
        }
        throw err;
      }
    },
  });
  consuming = true;
  if (pausedByCompanion) applyPause();
  logger.info({ topic: def.topic, options }, 'processor running');

  let stopping: Promise<void> | undefined;
  return {
    name: def.name,
    stop() {
      stopping ??= (async () => {
        logger.info('stopping: finishing the batch in flight');
        // disconnect() waits for eachBatch to return, then sends LeaveGroup so the partitions are
        // reassigned at once instead of after sessionTimeout.
        await consumer.disconnect();
        await dlq.close();
        await companion?.stop();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}

/**
 * Broker errors by which the group coordinator refuses a commit from a member that is no longer
 * in the current generation: the partition was given to someone else while this member was away.
 */
const FENCED_COMMIT = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
]);

/** The broker's error type when `err` is a refusal of a fenced member's commit. */
function fencedCommitReason(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' && FENCED_COMMIT.has(type) ? type : undefined;
}

/**
 * Zombie fencing. A member that stalls longer than the session timeout (a GC pause, a frozen VM,
 * SIGSTOP) is dropped from the group and its partitions go to another member, while it may still
 * be inside a batch. When it wakes up, three things keep it harmless:
 * - its transaction's effects are no-ops by their business keys, whichever of the two commits
 *   first (the new owner's insert waits on the zombie's row locks, then finds the row);
 * - its offset commit carries the old generation and the coordinator refuses it, so it can never
 *   move (or move back) the new owner's position; this is counted and logged here, and the error
 *   goes on to kafkajs, which rejoins the group at once;
 * - the refused commit ends the batch before its next sub-batch, and kafkajs rejoins before it
 *   fetches again, so the zombie starts no new work on the partition it lost.
 */
function controlFor(
  payload: EachBatchPayload,
  onRefused: (reason: string, err: unknown) => void,
): PartitionControl {
  const { batch } = payload;
  return {
    heartbeat: () => payload.heartbeat(),
    isRunning: () => payload.isRunning(),
    isStale: () => payload.isStale(),
    pause: () => payload.pause(),
    async commit(nextOffset) {
      try {
        await payload.commitOffsetsIfNecessary({
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: nextOffset }],
            },
          ],
        });
      } catch (err) {
        const reason = fencedCommitReason(err);
        if (reason !== undefined) onRefused(reason, err);
        throw err;
      }
      // resolveOffset takes the LAST processed offset; it moves kafkajs's fetch position so a
      // paused-and-resumed partition does not refetch what was just committed.
      payload.resolveOffset((BigInt(nextOffset) - 1n).toString());
    },
  };
}
