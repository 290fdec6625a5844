import type { Knex } from 'knex';

/**
 * A warning an upload's checks raised (upload-checks.ts): data, not an error. An upload with any
 * waits in AWAITING_CONFIRMATION until an operator confirms them (upload-confirm.ts). Amounts are
 * minor units of `currency`; `message` is the same warning as a person reads it, money formatted.
 */
export type UploadWarningCode = 'SELLER_TOTAL_ABOVE_HISTORY' | 'ROW_ABOVE_HISTORY' | 'TOO_MANY_SELLERS' | 'TOO_MUCH_MONEY';

export interface UploadWarning {
  code: UploadWarningCode;
  region: string | null;
  currency: string | null;
  shopUserId: bigint | null;
  rowNumber: bigint | null;
  /** What the file has: the seller's total, the row's amount, the currency's total. */
  amountMinor: bigint | null;
  /** The seller's history figure the bound was made from. */
  historyMinor: bigint | null;
  /** The bound `amountMinor` (or `count`) passed. */
  boundMinor: bigint | null;
  /** Sellers: how many the file touches, or how many more a summary warning stands for. */
  count: bigint | null;
  message: string;
}

/** Writes an upload's warnings, in order, inside the transaction that records the upload. */
export async function recordWarnings(trx: Knex.Transaction, uploadId: bigint, warnings: UploadWarning[]): Promise<void> {
  const rows = warnings.map((w, seq) => ({
    upload_id: uploadId.toString(),
    seq,
    code: w.code,
    region: w.region,
    currency: w.currency,
    shop_user_id: w.shopUserId?.toString() ?? null,
    row_number: w.rowNumber?.toString() ?? null,
    amount_minor: w.amountMinor?.toString() ?? null,
    history_minor: w.historyMinor?.toString() ?? null,
    bound_minor: w.boundMinor?.toString() ?? null,
    count: w.count?.toString() ?? null,
    message: w.message.slice(0, 512),
  }));
  for (let i = 0; i < rows.length; i += 500) await trx('upload_warning').insert(rows.slice(i, i + 500));
}

export async function readWarnings(db: Knex, uploadId: bigint): Promise<UploadWarning[]> {
  const rows = (await db('upload_warning').where({ upload_id: uploadId.toString() }).orderBy('seq')) as Array<Record<string, string | null>>;
  const big = (v: string | null | undefined) => (v === null || v === undefined ? null : BigInt(v));
  return rows.map((r) => ({
    code: r.code as UploadWarningCode,
    region: r.region ?? null,
    currency: r.currency ?? null,
    shopUserId: big(r.shop_user_id),
    rowNumber: big(r.row_number),
    amountMinor: big(r.amount_minor),
    historyMinor: big(r.history_minor),
    boundMinor: big(r.bound_minor),
    count: big(r.count),
    message: r.message!,
  }));
}

/**
 * The ops_audit row of a confirmation: who let the upload proceed past which warnings. Written in
 * the transaction that releases the upload, so a confirmed upload always has its record. The detail
 * keeps within the TEXT column; a long list keeps its first warnings and says how many there were.
 */
export async function auditConfirmation(trx: Knex.Transaction, uploadId: bigint, actor: string, warnings: UploadWarning[], how: 'confirm' | 'confirm-warnings'): Promise<void> {
  const listed: string[] = [];
  let size = 0;
  for (const w of warnings) {
    size += w.message.length + 8;
    if (size > 30_000) break;
    listed.push(`${w.code}: ${w.message}`);
  }
  await trx('ops_audit').insert({
    actor: actor.slice(0, 64),
    role: null,
    action: 'upload.confirm',
    target: uploadId.toString(),
    detail: JSON.stringify({ how, warningCount: warnings.length, warnings: listed }),
    status: null,
  });
}
