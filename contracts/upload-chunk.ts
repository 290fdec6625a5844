import { RECORD_PROBLEMS } from '../runtime/csv/csv-record-splitter';
import { ValidationError } from '../runtime/errors';
import { TOPICS } from '../topologies/settlement';
import { contractFor } from './contract';

/**
 * `sts.upload-chunks.v1` (schemas/upload-chunk.avsc): a few thousand rows of an ops upload, as the
 * intake (`sts upload`, POST /uploads) cut them from the file, each row's text inline. Published
 * by the intake, read by upload-ingestion, which validates every row against the upload CSV
 * contract and books it or rejects it with a reason.
 */
export interface UploadChunkRow {
  /** The row's record number in the file: the header is 0, the first data row 1. */
  row_number: bigint;
  /** The row's text, without its line break; only its start when the row was too large. */
  raw: string;
  /** Why the intake could not read the row as CSV text, or null. */
  problem: UploadRowProblem | null;
}

export interface UploadChunk {
  upload_id: bigint;
  chunk_index: number;
  /** The file's header, the same in every chunk of the upload. */
  columns: string[];
  rows: UploadChunkRow[];
}

/** What the intake found wrong with a row before any CSV parsing. */
export const UPLOAD_ROW_PROBLEMS = RECORD_PROBLEMS;
export type UploadRowProblem = (typeof UPLOAD_ROW_PROBLEMS)[number];

export const UPLOAD_CHUNKS = contractFor<UploadChunk>(TOPICS.uploadChunks);

const PROBLEMS: ReadonlySet<string> = new Set(UPLOAD_ROW_PROBLEMS);
const MAX_COLUMNS = 64;
const MAX_COLUMN_CHARS = 64;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The chunk's own structure, which the intake always produces; a chunk that breaks it was written
 * by something else and is dead-lettered whole, with the reason. The rows' content is not checked
 * here: a bad row is the upload's business, rejected alone with its reason by the ingestion.
 */
export function validateUploadChunk(c: UploadChunk): void {
  const ctx = { uploadId: String(c.upload_id), chunk: c.chunk_index };
  if (typeof c.upload_id !== 'bigint' || c.upload_id <= 0n || c.upload_id > INT64_MAX) throw new ValidationError(`upload_id ${String(c.upload_id)} is not a positive 64-bit integer`, ctx);
  if (!Number.isInteger(c.chunk_index) || c.chunk_index < 0) throw new ValidationError(`chunk_index ${c.chunk_index} is not a non-negative integer`, ctx);
  if (c.columns.length === 0 || c.columns.length > MAX_COLUMNS) throw new ValidationError(`the header has ${c.columns.length} columns; 1 to ${MAX_COLUMNS} are allowed`, ctx);
  const seen = new Set<string>();
  for (const name of c.columns) {
    if (name.length === 0 || name.length > MAX_COLUMN_CHARS) throw new ValidationError(`a column name is empty or longer than ${MAX_COLUMN_CHARS} characters`, ctx);
    if (seen.has(name)) throw new ValidationError(`column ${name} appears twice in the header`, ctx);
    seen.add(name);
  }
  let previous = 0n;
  for (const row of c.rows) {
    // Rows follow the header (record 0) in file order: a repeated or out-of-order number would
    // name the wrong row in a reject.
    if (row.row_number <= previous) throw new ValidationError(`row_number ${row.row_number} does not follow ${previous}`, ctx);
    previous = row.row_number;
    if (row.problem !== null && !PROBLEMS.has(row.problem)) throw new ValidationError(`row ${row.row_number}: problem ${String(row.problem)} is not one of ${UPLOAD_ROW_PROBLEMS.join(', ')}`, ctx);
  }
}
