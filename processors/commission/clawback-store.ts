import type { Knex } from '../../runtime/db/knex';
import { insertOnce } from './insert-once';
import { chunked, whereRegionKeys, type RegionKey } from './region-keys';

/**
 * commission_clawback: one row per refund request, written in the batch's transaction with the
 * billing items it explains. Its primary key (region, request_id) is what makes a redelivered
 * refund change nothing, even when the amount it clawed back was zero. Plain reads only: see
 * charge-store.ts for why a missing key is never read with a lock.
 */
export interface ClawbackRecord {
  region: string;
  requestId: string;
  orderId: bigint;
  refundAmountMinor: bigint;
  feeClawbackMinor: bigint;
  affiliateClawbackMinor: bigint;
}

export type ClawbackKey = RegionKey<string>;

/**
 * The in-memory key of a clawback, equal exactly when the primary key is. request_id is compared
 * byte for byte, NO PAD (migration 0011): 'r1' and 'r1 ' are two requests to the server, so they
 * are two here. (Under the old PAD SPACE collation this trimmed trailing spaces to match the
 * server; with a binary key a trimmed one would take 'r1 ' for a redelivery of 'r1'.)
 */
export const clawbackKey = (region: string, requestId: string): string =>
  `${region}\u0000${requestId}`;

interface ClawbackRow {
  region: string;
  request_id: string;
  order_id: string;
  refund_amount_minor: string;
  fee_clawback_minor: string;
  affiliate_clawback_minor: string;
}

/** The batch lookup, served by the primary key. */
export function clawbacksQuery(db: Knex | Knex.Transaction, keys: readonly ClawbackKey[]) {
  return whereRegionKeys(
    db('commission_clawback').select(
      'region',
      'request_id',
      'order_id',
      'refund_amount_minor',
      'fee_clawback_minor',
      'affiliate_clawback_minor',
    ),
    'request_id',
    keys,
  );
}

/** The clawbacks of `keys` already recorded, by clawbackKey. */
export async function readClawbacks(
  trx: Knex.Transaction,
  keys: readonly ClawbackKey[],
): Promise<Map<string, ClawbackRecord>> {
  const distinct = [...new Map(keys.map((k) => [clawbackKey(k.region, k.value), k])).values()];
  const found = new Map<string, ClawbackRecord>();
  for (const slice of chunked(distinct)) {
    for (const row of (await clawbacksQuery(trx, slice)) as ClawbackRow[]) {
      found.set(clawbackKey(row.region, row.request_id), {
        region: row.region,
        requestId: row.request_id,
        orderId: BigInt(row.order_id),
        refundAmountMinor: BigInt(row.refund_amount_minor),
        feeClawbackMinor: BigInt(row.fee_clawback_minor),
        affiliateClawbackMinor: BigInt(row.affiliate_clawback_minor),
      });
    }
  }
  return found;
}

/** New clawbacks, one multi-row INSERT; a concurrent writer's row makes it retriable. */
export async function insertClawbacks(
  trx: Knex.Transaction,
  clawbacks: readonly ClawbackRecord[],
): Promise<void> {
  for (const slice of chunked(clawbacks)) {
    const rows = slice.map((cb) => ({
      region: cb.region,
      request_id: cb.requestId,
      order_id: cb.orderId,
      refund_amount_minor: cb.refundAmountMinor,
      fee_clawback_minor: cb.feeClawbackMinor,
      affiliate_clawback_minor: cb.affiliateClawbackMinor,
    }));
    await insertOnce(() => trx('commission_clawback').insert(rows));
  }
}
