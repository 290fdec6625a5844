import type { Knex } from 'knex';
import { NotFoundError } from '../../runtime/errors';
import { readWarnings, type UploadWarning } from './upload-warnings';

/** What ops see of an upload: counts from the upload row, progress from its chunk checkpoints. */
export interface UploadStatus {
  id: bigint;
  fileName: string;
  sha256: string;
  status: string;
  createdBy: string;
  totalRows: bigint;
  chunkCount: number;
  doneChunks: number;
  /** Rows in committed chunks: accepted + rejected + duplicate. */
  rowsDone: bigint;
  acceptedRows: bigint;
  rejectedRows: bigint;
  duplicateRows: bigint;
  /** Rows in chunks a cancel stopped; they were never written. */
  cancelledRows: bigint;
  duplicateOf: bigint | null;
  /** What the checks found (docs/UPLOADS.md, "Checks before booking"); empty for most uploads. */
  warnings: UploadWarning[];
  /** Who confirmed the warnings, and when; null while held or when there were none. */
  confirmedBy: string | null;
  confirmedAt: Date | null;
  createdAt: Date;
  publishedAt: Date | null;
  finishedAt: Date | null;
}

export const FINAL_UPLOAD_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/** Held by its checks: nothing published, nothing booked, until confirmed or cancelled. */
export const AWAITING_CONFIRMATION = 'AWAITING_CONFIRMATION';

export async function readUploadStatus(db: Knex, id: bigint): Promise<UploadStatus> {
  const u = (await db('upload').where({ id: id.toString() }).first()) as Record<string, string | number | Date | null> | undefined;
  if (!u) throw new NotFoundError('upload', id.toString());
  const [sums] = (await db.raw(
    `SELECT COALESCE(SUM(CASE WHEN status = 'CANCELLED' THEN row_count ELSE 0 END), 0) AS cancelled_rows FROM upload_chunk WHERE upload_id = ?`,
    [id.toString()],
  )) as [Array<{ cancelled_rows: string }>];
  const accepted = BigInt(u.accepted_rows as string);
  const rejected = BigInt(u.rejected_rows as string);
  const duplicates = BigInt(u.duplicate_rows as string);
  return {
    id,
    fileName: u.file_name as string,
    sha256: u.sha256 as string,
    status: u.status as string,
    createdBy: u.created_by as string,
    totalRows: BigInt(u.total_rows as string),
    chunkCount: Number(u.chunk_count),
    doneChunks: Number(u.done_chunks),
    rowsDone: accepted + rejected + duplicates,
    acceptedRows: accepted,
    rejectedRows: rejected,
    duplicateRows: duplicates,
    cancelledRows: BigInt(sums[0]?.cancelled_rows ?? '0'),
    duplicateOf: u.duplicate_of == null ? null : BigInt(u.duplicate_of as string),
    warnings: Number(u.warning_count ?? 0) > 0 ? await readWarnings(db, id) : [],
    confirmedBy: (u.confirmed_by as string | null) ?? null,
    confirmedAt: u.confirmed_at ? new Date(u.confirmed_at as Date) : null,
    createdAt: new Date(u.created_at as Date),
    publishedAt: u.published_at ? new Date(u.published_at as Date) : null,
    finishedAt: u.finished_at ? new Date(u.finished_at as Date) : null,
  };
}

/** Recent uploads, newest first. */
export async function listUploads(db: Knex, limit = 50): Promise<UploadStatus[]> {
  const ids = (await db('upload').select('id').orderBy('created_at', 'desc').limit(limit)) as Array<{ id: string }>;
  return Promise.all(ids.map((r) => readUploadStatus(db, BigInt(r.id))));
}
