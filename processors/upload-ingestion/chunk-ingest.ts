import type { Knex } from 'knex';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems, type BillingItemInput } from '../../runtime/ledger/billing-ledger';
import { CycleResolver } from '../../runtime/ledger/cycle-resolver';
import { UPLOAD_SOURCE } from './upload-contract';
import type { UploadChunk } from './upload-chunk';
import { parseRows } from './row-parser';
import { validateRow, type RejectCode, type ValidRow } from './row-validator';

/**
 * Applies one chunk inside the batch's transaction: billing items, balances, rejects, the chunk's
 * checkpoint and the upload's counters commit together or not at all. The checkpoint row is
 * locked first, so a chunk delivered twice (a crash after commit, before the offset commit) finds
 * itself DONE and changes nothing, and a cancel cannot interleave with a running chunk.
 */
export interface ChunkOutcome {
  status: 'APPLIED' | 'ALREADY_DONE' | 'CANCELLED' | 'UNKNOWN';
  accepted: number;
  rejected: number;
  duplicates: number;
}

interface Reject {
  upload_id: string;
  row_number: string;
  reason_code: RejectCode;
  message: string;
  raw: string;
}

const RAW_LIMIT = 64 * 1024;

export async function ingestChunk(trx: Knex.Transaction, chunk: UploadChunk, ids: SnowflakeGenerator, now: Date): Promise<ChunkOutcome> {
  const uploadId = chunk.upload_id.toString();
  const checkpoint = (await trx.raw('SELECT status FROM upload_chunk WHERE upload_id = ? AND chunk_index = ? FOR UPDATE', [uploadId, chunk.chunk_index]))[0] as Array<{ status: string }>;
  const state = checkpoint[0]?.status;
  if (state === undefined) return { status: 'UNKNOWN', accepted: 0, rejected: 0, duplicates: 0 };
  if (state === 'DONE') return { status: 'ALREADY_DONE', accepted: 0, rejected: 0, duplicates: 0 };
  if (state === 'CANCELLED') return { status: 'CANCELLED', accepted: 0, rejected: 0, duplicates: 0 };

  const rejects: Reject[] = [];
  const candidates: Array<{ rowNumber: bigint; raw: string; row: ValidRow }> = [];
  const rejectRow = (rowNumber: bigint, raw: string, code: RejectCode, message: string) =>
    rejects.push({ upload_id: uploadId, row_number: rowNumber.toString(), reason_code: code, message: message.slice(0, 512), raw: raw.slice(0, RAW_LIMIT) });

  const parsable = chunk.rows.filter((r) => {
    if (r.problem === null) return true;
    rejectRow(r.row_number, r.raw, r.problem as RejectCode, problemMessage(r.problem));
    return false;
  });
  const parsed = parseRows(parsable.map((r) => r.raw));
  parsable.forEach((r, i) => {
    const p = parsed[i]!;
    if (!p.ok) return void rejectRow(r.row_number, r.raw, 'CSV_MALFORMED', p.message);
    const verdict = validateRow(chunk.columns, p.fields);
    if (!verdict.ok) return void rejectRow(r.row_number, r.raw, verdict.code, verdict.message);
    candidates.push({ rowNumber: r.row_number, raw: r.raw, row: verdict.row });
  });

  const sellerOk = await checkOrderSellers(trx, candidates, (c, owner) =>
    rejectRow(c.rowNumber, c.raw, 'SELLER_MISMATCH', `order ${c.row.orderId} belongs to seller ${owner} in the ledger, not ${c.row.shopUserId}`),
  );

  // Every row of a chunk is booked at the same instant, so one lookup per region serves them all.
  const cycles = new CycleResolver(trx);
  const cycleOf = new Map<string, Awaited<ReturnType<CycleResolver['resolve']>>>();
  for (const region of new Set(sellerOk.map((c) => c.row.region))) cycleOf.set(region, await cycles.resolve(region, now));
  const items: BillingItemInput[] = [];
  const byItem = new Map<BillingItemInput, (typeof candidates)[number]>();
  for (const c of sellerOk) {
    const cycle = cycleOf.get(c.row.region)!;
    const item: BillingItemInput = {
      id: ids.next(),
      region: c.row.region,
      shopUserId: c.row.shopUserId,
      currency: c.row.currency,
      amountMinor: c.row.amountMinor,
      itemType: c.row.itemType,
      source: UPLOAD_SOURCE,
      sourceRef: c.row.externalRef,
      orderId: c.row.orderId,
      cycleId: cycle.cycleId,
      late: cycle.late,
      memo: c.row.memo,
    };
    items.push(item);
    byItem.set(item, c);
  }
  const result = await appendBillingItems(trx, items);
  for (const { item, existing } of result.conflicts) {
    const c = byItem.get(item)!;
    rejectRow(c.rowNumber, c.raw, 'CONFLICT', `external_ref ${item.sourceRef} in ${item.region} already exists with different content (seller ${existing.shop_user_id}, ${existing.currency} ${existing.amount_minor} minor, ${existing.item_type})`);
  }

  for (let i = 0; i < rejects.length; i += 500) await trx('upload_reject').insert(rejects.slice(i, i + 500));
  const outcome = { accepted: result.inserted.length, rejected: rejects.length, duplicates: result.duplicates.length };
  await trx('upload_chunk')
    .where({ upload_id: uploadId, chunk_index: chunk.chunk_index })
    .update({ status: 'DONE', accepted_rows: outcome.accepted, rejected_rows: outcome.rejected, duplicate_rows: outcome.duplicates, done_at: now });
  // Last, because every chunk of the upload updates this one row: its lock is held only until commit.
  // MySQL evaluates SET left to right, so the CASEs see the incremented done_chunks.
  await trx.raw(
    `UPDATE upload SET accepted_rows = accepted_rows + ?, rejected_rows = rejected_rows + ?, duplicate_rows = duplicate_rows + ?,
       done_chunks = done_chunks + 1,
       finished_at = CASE WHEN status = 'PROCESSING' AND done_chunks >= chunk_count THEN ? ELSE finished_at END,
       status = CASE WHEN status = 'PROCESSING' AND done_chunks >= chunk_count THEN 'COMPLETED' ELSE status END
     WHERE id = ?`,
    [outcome.accepted, outcome.rejected, outcome.duplicates, now, uploadId],
  );
  return { status: 'APPLIED', ...outcome };
}

/**
 * DESIGN lesson 2: a row naming an order must name the seller the ledger already has for that
 * order. A disagreement is rejected, never guessed; so is a second seller for one order within
 * the chunk.
 */
async function checkOrderSellers<C extends { row: ValidRow }>(trx: Knex.Transaction, candidates: C[], onMismatch: (c: C, owner: string) => void): Promise<C[]> {
  const orderIds = [...new Set(candidates.filter((c) => c.row.orderId !== null).map((c) => c.row.orderId!.toString()))];
  const owners = new Map<string, string>();
  for (let i = 0; i < orderIds.length; i += 1000) {
    const rows = (await trx('billing_item').distinct('order_id', 'shop_user_id').whereIn('order_id', orderIds.slice(i, i + 1000))) as Array<{ order_id: string; shop_user_id: string }>;
    for (const r of rows) if (!owners.has(r.order_id)) owners.set(r.order_id, r.shop_user_id);
  }
  return candidates.filter((c) => {
    if (c.row.orderId === null) return true;
    const order = c.row.orderId.toString();
    const owner = owners.get(order);
    if (owner === undefined) {
      owners.set(order, c.row.shopUserId.toString());
      return true;
    }
    if (owner === c.row.shopUserId.toString()) return true;
    onMismatch(c, owner);
    return false;
  });
}

function problemMessage(problem: string): string {
  switch (problem) {
    case 'INVALID_ENCODING':
      return 'the line is not valid UTF-8';
    case 'ROW_TOO_LARGE':
      return 'the line is larger than 64 KiB; only its start is kept here';
    case 'UNCLOSED_QUOTE':
      return 'a quoted field is never closed: this line and every line after it were read as one field';
    default:
      return problem;
  }
}
