import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Kafka, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import { UploadRefusedError } from './upload-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { Logger } from '../../runtime/logger';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import type { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import { CsvRecordSplitter, type SplitRecord } from '../../runtime/csv/csv-record-splitter';
import { fieldAt, parseOne } from '../../runtime/csv/csv-fields';
import { checkHeader } from '../../contracts/upload-file';
import { UPLOAD_CHUNKS, type UploadChunk, type UploadChunkRow } from '../../contracts/upload-chunk';
import type { UploadCheckBounds } from '../../runtime/uploads/upload-check-bounds';
import { checkUpload } from './upload-checks';
import { UploadTally, type FileTally } from './upload-tally';
import { AWAITING_CONFIRMATION } from './upload-status';
import { auditConfirmation, readWarnings, recordWarnings, type UploadWarning } from './upload-warnings';

/**
 * Intake of one billing-item file, shared by `sts upload` and `POST /uploads`:
 *   1. stream the bytes to a temp file under STS_DATA_DIR while hashing them (never all in memory);
 *   2. recognise a file already uploaded (same SHA-256) and return that upload instead;
 *   3. check the header and that at least one row exists: a bad file is refused before any write;
 *   4. with `checks`, read every row once more to add up what the file would book, and check it
 *      against the ledger's history and the bounds (upload-checks.ts);
 *   5. store the file as uploads/<sha256>.csv (the client's file name is never a path) and record
 *      the upload. With warnings, and unless they were confirmed up front (`confirmWarnings`), it
 *      stops here in AWAITING_CONFIRMATION: nothing is published, so nothing can be booked, until
 *      `sts upload confirm` (upload-confirm.ts) publishes it from the stored file;
 *   6. record and publish each chunk. A chunk row is committed before its message is sent, so
 *      ingestion never meets a chunk it does not know.
 * Each partition gets the rows of its own sellers (see publishChunks). Cancelling stops the
 * publishing at the next chunk.
 */
export interface IntakeDeps {
  db: Knex;
  kafka: Kafka;
  codec: AvroCodec;
  registry: RegistryClient;
  ids: SnowflakeGenerator;
  dataDir: string;
  logger: Logger;
}

export const INTAKE_DEFAULTS = {
  topic: UPLOAD_CHUNKS.topic as string,
  /** Rows per chunk: one transaction writes a few chunks. */
  maxChunkRows: 5000,
  /** Raw bytes per chunk; with 64 KiB rows at most, a message stays far under the 1 MiB broker limit. */
  maxChunkBytes: 512 * 1024,
  /** Chunk sends in flight at once. */
  sendWindow: 4,
  /** A file larger than this is refused (the ops API maps it to 413). */
  maxFileBytes: 4 * 1024 ** 3,
};

export interface IntakeOptions {
  fileName: string;
  actor: string;
  /** Upload again even if the same bytes were uploaded before: every row then counts as a duplicate. */
  force?: boolean;
  /**
   * The checks to pass before anything is published; absent: none. `sts upload` and POST /uploads
   * pass config.uploadChecks; scripted loads of files they generate (demo, chaos, benchmarks) pass
   * nothing and flow as before.
   */
  checks?: UploadCheckBounds;
  /** Warnings are confirmed up front by `actor`: recorded in ops_audit, and the upload proceeds. */
  confirmWarnings?: boolean;
  /** `checking`: rows read by the checks so far; `publishing`: rows and chunks published so far. */
  onProgress?(p: { rows: bigint; chunks: number; bytes: number; phase: 'checking' | 'publishing' }): void;
}

export interface IntakeResult {
  uploadId: bigint;
  /** Set when the same bytes were uploaded before and nothing new was written. */
  existing: boolean;
  totalRows: bigint;
  chunkCount: number;
  sha256: string;
  /** The upload's status when intake returned: AWAITING_CONFIRMATION when held. */
  status: string;
  /** What the checks found (held, or confirmed up front); empty when nothing was found. */
  warnings: UploadWarning[];
}

export async function intakeUpload(deps: IntakeDeps, input: Readable, opts: IntakeOptions, tuning: Partial<typeof INTAKE_DEFAULTS> = {}): Promise<IntakeResult> {
  const cfg = { ...INTAKE_DEFAULTS, ...tuning };
  const dir = path.join(deps.dataDir, 'uploads');
  await fs.promises.mkdir(path.join(dir, 'incoming'), { recursive: true });
  const temp = path.join(dir, 'incoming', `${crypto.randomUUID()}.part`);
  try {
    const { sha256, size } = await spool(input, temp, cfg.maxFileBytes);
    if (!opts.force) {
      const prior = (await deps.db('upload').select('id', 'total_rows', 'chunk_count', 'status').where({ sha256 }).whereNot({ status: 'FAILED' }).orderBy('created_at').first()) as
        | { id: string; total_rows: string; chunk_count: number; status: string }
        | undefined;
      if (prior) {
        const id = BigInt(prior.id);
        return { uploadId: id, existing: true, totalRows: BigInt(prior.total_rows), chunkCount: prior.chunk_count, sha256, status: prior.status, warnings: await readWarnings(deps.db, id) };
      }
    }
    const records = fs.createReadStream(temp, { highWaterMark: 256 * 1024 }).pipe(new CsvRecordSplitter());
    const iterator = records[Symbol.asyncIterator]() as AsyncIterator<SplitRecord>;
    const columns = await readHeader(iterator);
    const first = await iterator.next();
    if (first.done) throw new UploadRefusedError('NO_ROWS', 'the file has a header but no rows', { fix: 'add at least one data row' });

    // The checks read the whole file before anything is recorded or published, so a held upload
    // has nothing on the topic for ingestion to book.
    const tally = opts.checks ? await tallyRows(columns, first.value, iterator, opts.checks.maxSellers + 1, opts.onProgress) : null;
    const warnings = tally && opts.checks ? await checkUpload(deps.db, tally, opts.checks) : [];
    const held = warnings.length > 0 && !opts.confirmWarnings;

    const stored = path.join(dir, `${sha256}.csv`);
    await fs.promises.rename(temp, stored);
    const uploadId = deps.ids.next();
    const duplicateOf = opts.force ? await priorUploadId(deps.db, sha256) : null;
    await deps.db.transaction(async (trx) => {
      await trx('upload').insert({
        id: uploadId.toString(),
        file_name: opts.fileName.slice(0, 255),
        sha256,
        size_bytes: size,
        stored_path: path.relative(deps.dataDir, stored),
        status: held ? AWAITING_CONFIRMATION : 'RECEIVING',
        total_rows: (tally?.rows ?? 0n).toString(),
        created_by: opts.actor.slice(0, 64),
        duplicate_of: duplicateOf,
        warning_count: warnings.length,
        ...(warnings.length > 0 && !held ? { confirmed_by: opts.actor.slice(0, 64), confirmed_at: new Date() } : {}),
      });
      await recordWarnings(trx, uploadId, warnings);
      if (warnings.length > 0 && !held) await auditConfirmation(trx, uploadId, opts.actor, warnings, 'confirm-warnings');
    });
    deps.logger.info({ uploadId, fileName: opts.fileName, sha256, size, warnings: warnings.length, held }, held ? 'upload held for confirmation' : 'upload received');
    if (held) return { uploadId, existing: false, totalRows: tally!.rows, chunkCount: 0, sha256, status: AWAITING_CONFIRMATION, warnings };

    // Checked: the rows were read once already, so publishing reads the stored file again.
    const published = tally ? await publishStoredUpload(deps, uploadId, stored, opts.onProgress, cfg) : await publishAndFinish(deps, cfg, uploadId, columns, first.value, iterator, opts.onProgress);
    return { uploadId, existing: false, totalRows: published.rows, chunkCount: published.chunks, sha256, status: published.status, warnings };
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

/**
 * Publishes a recorded upload from its stored file: the second half of a checked intake, and what
 * a confirmation runs (upload-confirm.ts). The upload must be RECEIVING.
 */
export async function publishStoredUpload(
  deps: IntakeDeps,
  uploadId: bigint,
  storedFile: string,
  onProgress: IntakeOptions['onProgress'],
  tuning: Partial<typeof INTAKE_DEFAULTS> = {},
): Promise<{ rows: bigint; chunks: number; status: string }> {
  const cfg = { ...INTAKE_DEFAULTS, ...tuning };
  const records = fs.createReadStream(storedFile, { highWaterMark: 256 * 1024 }).pipe(new CsvRecordSplitter());
  const iterator = records[Symbol.asyncIterator]() as AsyncIterator<SplitRecord>;
  try {
    const columns = await readHeader(iterator);
    const first = await iterator.next();
    if (first.done) throw new UploadRefusedError('NO_ROWS', 'the stored file has a header but no rows', { fix: 'upload the file again with --force' });
    return await publishAndFinish(deps, cfg, uploadId, columns, first.value, iterator, onProgress);
  } finally {
    records.destroy();
  }
}

/** Publishes every chunk, then the upload's counts; a failure marks it FAILED (see docs/UPLOADS.md). */
async function publishAndFinish(
  deps: IntakeDeps,
  cfg: typeof INTAKE_DEFAULTS,
  uploadId: bigint,
  columns: string[],
  first: SplitRecord,
  rest: AsyncIterator<SplitRecord>,
  onProgress: IntakeOptions['onProgress'],
): Promise<{ rows: bigint; chunks: number; status: string }> {
  try {
    const published = await publishChunks(deps, cfg, uploadId, columns, first, rest, onProgress);
    await deps.db.raw(
      `UPDATE upload SET total_rows = ?, chunk_count = ?, published_at = NOW(3),
         finished_at = CASE WHEN status = 'RECEIVING' AND done_chunks >= ? THEN NOW(3) ELSE finished_at END,
         status = CASE WHEN status <> 'RECEIVING' THEN status WHEN done_chunks >= ? THEN 'COMPLETED' ELSE 'PROCESSING' END
       WHERE id = ?`,
      [published.rows.toString(), published.chunks, published.chunks, published.chunks, uploadId.toString()],
    );
    const row = (await deps.db('upload').select('status').where({ id: uploadId.toString() }).first()) as { status: string };
    return { ...published, status: row.status };
  } catch (err) {
    await deps.db('upload').where({ id: uploadId.toString(), status: 'RECEIVING' }).update({ status: 'FAILED', finished_at: new Date() });
    throw err;
  }
}

/** Reads the rest of the file into a tally (upload-tally.ts), reporting progress every 5,000 rows. */
async function tallyRows(columns: string[], first: SplitRecord, rest: AsyncIterator<SplitRecord>, sellerLimit: number, onProgress: IntakeOptions['onProgress']): Promise<FileTally> {
  const tally = new UploadTally(columns, sellerLimit);
  let bytes = 0;
  let rows = 0n;
  let next: IteratorResult<SplitRecord> = { done: false, value: first };
  while (!next.done) {
    tally.add(next.value);
    bytes += next.value.bytes;
    if (++rows % 5000n === 0n) onProgress?.({ rows, chunks: 0, bytes, phase: 'checking' });
    next = await rest.next();
  }
  onProgress?.({ rows, chunks: 0, bytes, phase: 'checking' });
  return tally.result();
}

async function spool(input: Readable, temp: string, maxBytes: number): Promise<{ sha256: string; size: number }> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new UploadRefusedError('TOO_LARGE', `the file is larger than ${maxBytes} bytes`, { fix: 'split the file' }));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(input, meter, fs.createWriteStream(temp, { flags: 'wx' }));
  if (size === 0) throw new UploadRefusedError('EMPTY_FILE', 'the file is empty', { fix: 'upload a CSV with a header row and at least one data row' });
  return { sha256: hash.digest('hex'), size };
}

async function readHeader(iterator: AsyncIterator<SplitRecord>): Promise<string[]> {
  const header = await iterator.next();
  if (header.done) throw new UploadRefusedError('EMPTY_FILE', 'the file has no header row', { fix: 'upload a CSV with a header row and at least one data row' });
  if (!('raw' in header.value)) throw new UploadRefusedError('BAD_HEADER', `the header row cannot be read (${header.value.problem})`, { fix: 'save the file as UTF-8 CSV' });
  // Read exactly as ingestion reads a row (csv-fields.ts), quote rule included.
  const parsed = parseOne(header.value.raw);
  if (!parsed.ok) throw new UploadRefusedError('BAD_HEADER', `the header row is not valid CSV: ${parsed.message}`, { fix: 'quote a header name only whole, as "name", and save the file as UTF-8 CSV' });
  const check = checkHeader(parsed.fields);
  if (check.missing.length > 0) {
    throw new UploadRefusedError('MISSING_COLUMNS', `required column(s) missing: ${check.missing.join(', ')}`, {
      fix: 'the header needs external_ref, shop_user_id, region, currency, amount and item_type (any order, any case)',
      context: { missing: check.missing.join(',') },
    });
  }
  if (check.duplicated.length > 0) throw new UploadRefusedError('DUPLICATE_COLUMNS', `column(s) named twice: ${check.duplicated.join(', ')}`);
  return check.columns;
}

async function publishChunks(
  deps: IntakeDeps,
  cfg: typeof INTAKE_DEFAULTS,
  uploadId: bigint,
  columns: string[],
  first: SplitRecord,
  rest: AsyncIterator<SplitRecord>,
  onProgress: IntakeOptions['onProgress'],
): Promise<{ rows: bigint; chunks: number }> {
  const schemaId = await deps.registry.latestId(valueSubject(cfg.topic));
  const partitions = await partitionCount(deps.kafka, cfg.topic);
  const sellerColumn = columns.indexOf('shop_user_id');
  const producer: Producer = deps.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const inFlight: Array<Promise<unknown>> = [];
  // One open chunk per partition. Rows go to the partition of their seller, so the chunks that
  // consumers apply side by side touch disjoint sellers and never wait on each other's balance
  // row locks (measured: about 30% more rows/s with three partitions in flight).
  const open = Array.from({ length: partitions }, () => ({ rows: [] as UploadChunkRow[], bytes: 0 }));
  let chunkIndex = 0;
  let total = 0n;
  let bytes = 0;
  let cancelled = false;

  const flush = async (partition: number) => {
    const bucket = open[partition]!;
    if (bucket.rows.length === 0) return;
    const chunk: UploadChunk = { upload_id: uploadId, chunk_index: chunkIndex, columns, rows: bucket.rows };
    bucket.rows = [];
    bucket.bytes = 0;
    cancelled = !(await recordChunk(deps.db, chunk));
    if (cancelled) return;
    const value = await deps.codec.encode(schemaId, chunk);
    inFlight.push(producer.send({ topic: cfg.topic, messages: [{ key: `${uploadId}:${chunk.chunk_index}`, value, partition }] }));
    chunkIndex++;
    if (inFlight.length >= cfg.sendWindow) await inFlight.shift();
    onProgress?.({ rows: total, chunks: chunkIndex, bytes, phase: 'publishing' });
  };

  try {
    let next: IteratorResult<SplitRecord> = { done: false, value: first };
    while (!next.done && !cancelled) {
      const r = next.value;
      total++;
      bytes += r.bytes;
      const row: UploadChunkRow = 'raw' in r ? { row_number: BigInt(r.index), raw: r.raw, problem: null } : { row_number: BigInt(r.index), raw: r.sample, problem: r.problem };
      const partition = row.problem === null ? sellerPartition(row.raw, sellerColumn, partitions) : 0;
      const bucket = open[partition]!;
      bucket.rows.push(row);
      bucket.bytes += row.raw.length;
      if (bucket.rows.length >= cfg.maxChunkRows || bucket.bytes >= cfg.maxChunkBytes) await flush(partition);
      next = await rest.next();
    }
    for (let p = 0; p < partitions && !cancelled; p++) await flush(p);
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return { rows: total, chunks: chunkIndex };
}

async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return Math.max(1, meta.topics[0]?.partitions.length ?? 1);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The partition of a row's seller: shop_user_id modulo the partition count, the field read as
 * ingestion reads it (csv-fields.ts), so both see the same seller. A row without a readable
 * seller goes to partition 0: ingestion rejects it anyway.
 */
export function sellerPartition(raw: string, column: number, partitions: number): number {
  const seller = fieldAt(raw, column);
  return seller === null ? 0 : decimalModulo(seller.trim(), partitions);
}

/**
 * A decimal id of 1 to 19 digits modulo `m`, digit by digit (Horner), the same value as
 * BigInt(text) % m without a BigInt per row; 0 for anything else.
 */
function decimalModulo(text: string, m: number): number {
  if (text.length === 0 || text.length > 19) return 0;
  let r = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return 0;
    r = (r * 10 + d) % m;
  }
  return r;
}

/**
 * Records a chunk as PENDING unless the upload was cancelled meanwhile. The upload row is locked
 * first, as `sts upload cancel` does, so a chunk is either recorded before the cancel (and then
 * cancelled by it) or not at all.
 */
async function recordChunk(db: Knex, chunk: UploadChunk): Promise<boolean> {
  return db.transaction(async (trx) => {
    const [rows] = (await trx.raw('SELECT status FROM upload WHERE id = ? FOR UPDATE', [chunk.upload_id.toString()])) as [Array<{ status: string }>];
    if (rows[0]?.status !== 'RECEIVING') return false;
    await trx('upload_chunk').insert({
      upload_id: chunk.upload_id.toString(),
      chunk_index: chunk.chunk_index,
      first_row: chunk.rows[0]!.row_number.toString(),
      row_count: chunk.rows.length,
      status: 'PENDING',
    });
    return true;
  });
}

async function priorUploadId(db: Knex, sha256: string): Promise<string | null> {
  const prior = (await db('upload').select('id').where({ sha256 }).orderBy('created_at').first()) as { id: string } | undefined;
  return prior?.id ?? null;
}
