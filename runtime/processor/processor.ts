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
        await runner.run(batch.topic, batch.partition, batch.messages, controlFor(payload));
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

function controlFor(payload: EachBatchPayload): PartitionControl {
  const { batch } = payload;
  return {
    heartbeat: () => payload.heartbeat(),
    isRunning: () => payload.isRunning(),
    isStale: () => payload.isStale(),
    pause: () => payload.pause(),
    async commit(nextOffset) {
      await payload.commitOffsetsIfNecessary({
        topics: [
          { topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] },
        ],
      });
      // resolveOffset takes the LAST processed offset; it moves kafkajs's fetch position so a
      // paused-and-resumed partition does not refetch what was just committed.
      payload.resolveOffset((BigInt(nextOffset) - 1n).toString());
    },
  };
}
