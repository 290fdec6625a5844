import type { Knex } from 'knex';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems, BalanceIncrements, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import { CycleResolver, type ResolvedCycle } from '../../runtime/billing/cycle-resolver';
import { UPLOAD_SOURCE } from '../../contracts/upload-file';
import type { UploadChunk } from '../../contracts/upload-chunk';
import { parseRows } from '../../runtime/csv/csv-fields';
import { rowValidator, type RejectCode, type ValidRow } from './row-validator';
import { ledgerSellersOf } from './ledger-order-sellers';

/**
 * Applies the chunks of one batch inside its transaction: billing items, balances, rejects, each
 * chunk's checkpoint and the upload's counters commit together or not at all. Each checkpoint row
 * is locked first, so a chunk delivered twice (a crash after commit, before the offset commit)
 * finds itself DONE and changes nothing, and a cancel cannot interleave with a running chunk.
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

/** What the chunks of one transaction share: one cycle lookup per region, one balance write. */
interface BatchScope {
  cycles: CycleResolver;
  cycleOf: Map<string, ResolvedCycle>;
  balances: BalanceIncrements;
  now: Date;
}

/**
 * `balances`: 'guarded' books without reading any balance and fails the whole call with
 * BalanceGuardMissedError when an account might cross its payout bound (see BalanceIncrements);
 * 'read' reads balances and refuses item by item. The processor tries guarded first.
 */
export async function ingestChunks(trx: Knex.Transaction, chunks: UploadChunk[], ids: SnowflakeGenerator, now: Date, balances: 'guarded' | 'read' = 'read'): Promise<ChunkOutcome[]> {
  const scope: BatchScope = { cycles: new CycleResolver(trx), cycleOf: new Map(), balances: new BalanceIncrements(balances), now };
  const outcomes: ChunkOutcome[] = [];
  const progress = new Map<string, { accepted: number; rejected: number; duplicates: number; chunks: number }>();
  for (const chunk of chunks) {
    const outcome = await ingestChunk(trx, chunk, ids, scope);
    outcomes.push(outcome);
    if (outcome.status !== 'APPLIED') continue;
    const uploadId = chunk.upload_id.toString();
    const p = progress.get(uploadId) ?? { accepted: 0, rejected: 0, duplicates: 0, chunks: 0 };
    p.accepted += outcome.accepted;
    p.rejected += outcome.rejected;
    p.duplicates += outcome.duplicates;
    p.chunks++;
    progress.set(uploadId, p);
  }
  await scope.balances.apply(trx);
  // Last, and once per upload for the whole batch: every chunk of an upload updates this one row,
  // so its lock must be held only from here to commit. Taken any earlier, it would queue every
  // other transaction of the upload (and the intake, which locks the row per chunk) behind the rest
  // of this batch's work (test/issues/upload-row-lock-across-chunks.test.ts).
  // MySQL evaluates SET left to right, so the CASEs see the incremented done_chunks.
  for (const [uploadId, p] of [...progress].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await trx.raw(
      `UPDATE upload SET accepted_rows = accepted_rows + ?, rejected_rows = rejected_rows + ?, duplicate_rows = duplicate_rows + ?,
         done_chunks = done_chunks + ?,
         finished_at = CASE WHEN status = 'PROCESSING' AND done_chunks >= chunk_count THEN ? ELSE finished_at END,
         status = CASE WHEN status = 'PROCESSING' AND done_chunks >= chunk_count THEN 'COMPLETED' ELSE status END
       WHERE id = ?`,
      [p.accepted, p.rejected, p.duplicates, p.chunks, now, uploadId],
    );
  }
  return outcomes;
}

const RAW_LIMIT = 64 * 1024;

async function ingestChunk(trx: Knex.Transaction, chunk: UploadChunk, ids: SnowflakeGenerator, scope: BatchScope): Promise<ChunkOutcome> {
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
  const validateRow = rowValidator(chunk.columns);
  parsable.forEach((r, i) => {
    const p = parsed[i]!;
    if (!p.ok) return void rejectRow(r.row_number, r.raw, 'CSV_MALFORMED', p.message);
    const verdict = validateRow(p.fields);
    if (!verdict.ok) return void rejectRow(r.row_number, r.raw, verdict.code, verdict.message);
    candidates.push({ rowNumber: r.row_number, raw: r.raw, row: verdict.row });
  });

  const sellerOk = await checkOrderSellers(trx, candidates, (c, owner) =>
    rejectRow(c.rowNumber, c.raw, 'SELLER_MISMATCH', `order ${c.row.orderId} belongs to seller ${owner} in the ledger, not ${c.row.shopUserId}`),
  );

  // Every row of a batch is booked at the same instant, so one lookup per region serves them all.
  const cycleOf = scope.cycleOf;
  for (const c of sellerOk) if (!cycleOf.has(c.row.region)) cycleOf.set(c.row.region, await scope.cycles.resolve(c.row.region, scope.now));
  const items: BillingItemInput[] = sellerOk.map((c) => {
    const cycle = cycleOf.get(c.row.region)!;
    return {
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
      uploadId: chunk.upload_id,
      uploadRow: c.rowNumber,
    };
  });
  const result = await appendBillingItems(trx, items, { balances: scope.balances });
  if (result.conflicts.length > 0) {
    const rowOf = new Map(items.map((item, i) => [item, sellerOk[i]!]));
    for (const { item, existing } of result.conflicts) {
      const c = rowOf.get(item)!;
      rejectRow(c.rowNumber, c.raw, 'CONFLICT', `external_ref ${item.sourceRef} in ${item.region} already exists with different content (seller ${existing.shop_user_id}, ${existing.currency} ${existing.amount_minor} minor, ${existing.item_type})`);
    }
  }
  if (result.refused.length > 0) {
    // Beyond a money bound: this row is rejected with the reason, the rest of the chunk applies.
    const rowOf = new Map(items.map((item, i) => [item, sellerOk[i]!]));
    for (const { item, code, reason } of result.refused) {
      const c = rowOf.get(item)!;
      rejectRow(c.rowNumber, c.raw, code, reason);
    }
  }

  for (let i = 0; i < rejects.length; i += 500) await trx('upload_reject').insert(rejects.slice(i, i + 500));
  const outcome = { accepted: result.inserted.length, rejected: rejects.length, duplicates: result.duplicates.length };
  await trx('upload_chunk')
    .where({ upload_id: uploadId, chunk_index: chunk.chunk_index })
    .update({ status: 'DONE', accepted_rows: outcome.accepted, rejected_rows: outcome.rejected, duplicate_rows: outcome.duplicates, done_at: scope.now });
  return { status: 'APPLIED', ...outcome };
}

/**
 * docs/DESIGN.md, lesson 2: a row naming an order must name the seller the ledger already has for
 * that order. A disagreement is rejected, never guessed; so is a second seller for one order within
 * the chunk.
 */
async function checkOrderSellers<C extends { row: ValidRow }>(trx: Knex.Transaction, candidates: C[], onMismatch: (c: C, owner: string) => void): Promise<C[]> {
  // The first row naming an order claims it for its seller, unless the ledger already has one.
  // Keyed by bigint: comparing per row needs no BigInt-to-string conversion.
  const claimed = new Map<bigint, bigint>();
  for (const c of candidates) if (c.row.orderId !== null && !claimed.has(c.row.orderId)) claimed.set(c.row.orderId, c.row.shopUserId);
  const ledger = await ledgerSellersOf(trx, claimed.keys());
  return candidates.filter((c) => {
    const order = c.row.orderId;
    if (order === null) return true;
    const owner = ledger.get(order) ?? claimed.get(order)!;
    if (owner === c.row.shopUserId) return true;
    onMismatch(c, owner.toString());
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
