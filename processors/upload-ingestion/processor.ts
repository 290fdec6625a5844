import { UPLOAD_CHUNKS, validateUploadChunk, type UploadChunk } from '../../contracts/upload-chunk';
import { BalanceGuardMissedError } from '../../runtime/billing/billing-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { GROUPS } from '../../topologies/settlement';
import { ingestChunks, type ChunkOutcome } from './chunk-ingest';

/**
 * upload-ingestion: one chunk of an ops upload per record, on its own topic so a million-row file
 * never queues in front of order events (docs/DESIGN.md, lesson 4). A chunk is thousands of rows,
 * so a transaction holds a few chunks, and more partitions than usual run side by side: the
 * database, not this process, is the bottleneck.
 */
/** Rows are booked into the cycle open at `clock()`: an upload is an adjustment made now. */
export function uploadIngestion(ids: SnowflakeGenerator, topic: string = UPLOAD_CHUNKS.topic, clock: () => Date = () => new Date()): ProcessorDefinition<UploadChunk> {
  return {
    name: 'upload-ingestion',
    group: GROUPS.uploadIngestion,
    topic,
    validate: validateUploadChunk,
    options: { maxRecordsPerTransaction: 2, partitionsConsumedConcurrently: 3 },
    async handleBatch(ctx, records) {
      const chunks = records.map((r) => r.value);
      const now = clock();
      // Guarded first: no balance is read, and one upsert checks that no account of the batch can
      // reach its payout bound. When one might, that write changes nothing and the batch is redone
      // from the savepoint reading balances, which refuses exactly the rows that would cross.
      await ctx.trx.raw('SAVEPOINT sts_upload_guarded');
      let outcomes: ChunkOutcome[];
      try {
        outcomes = await ingestChunks(ctx.trx, chunks, ids, now, 'guarded');
      } catch (err) {
        if (!(err instanceof BalanceGuardMissedError)) throw err;
        ctx.logger.debug({ accounts: err.context.accounts }, 'an account is near its payout bound; redoing the batch reading balances');
        await ctx.trx.raw('ROLLBACK TO SAVEPOINT sts_upload_guarded');
        outcomes = await ingestChunks(ctx.trx, chunks, ids, now, 'read');
      }
      records.forEach((record, i) => {
        const outcome = outcomes[i]!;
        const fields = { uploadId: record.value.upload_id, chunk: record.value.chunk_index, ...outcome };
        if (outcome.status === 'UNKNOWN') ctx.logger.warn(fields, 'chunk of an unknown upload skipped (its upload row was deleted or never committed)');
        else ctx.logger.debug(fields, 'chunk applied');
      });
    },
  };
}
