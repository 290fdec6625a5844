import type { Knex } from '../../runtime/db/knex';
import { REGIONS } from '../../runtime/money/regions';
import { UPLOAD_SOURCE } from '../../contracts/upload-file';
import type { ItemEntry, OrderEventEntry, TraceAccountKey, TraceEntry, UploadRowEntry } from './trace-types';
import { big, bigOrNull, int64Literal, intList, IN_LIST_MAX, marks, slices } from './trace-sql';

/**
 * Billing items for a trace (steps 1 and 2), always through one of billing_item's keys:
 * an account's items by ix_billing_item_seller, an order's by ix_billing_item_order, a reference
 * by uq_billing_item_source; and the uploads they came from by upload's primary key.
 */

/** Every billing_item.source a writer uses; a reference is looked up under each. */
export const ITEM_SOURCES = ['ORDER', UPLOAD_SOURCE, 'COMMISSION', 'CARRY_FORWARD', 'PAYOUT_RETURN'] as const;

export interface ItemRow {
  id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  item_type: string;
  source: string;
  source_ref: string;
  order_id: string | null;
  cycle_id: string;
  late: number;
  memo: string | null;
  created_at: Date;
  event_topic: string | null;
  event_partition: number | null;
  event_offset: string | null;
  upload_id: string | null;
  upload_row: string | null;
}

const COLUMNS =
  'id, region, shop_user_id, currency, amount_minor, item_type, source, source_ref, order_id, cycle_id, late, memo, created_at, event_topic, event_partition, event_offset, upload_id, upload_row';

/** An account's items in id order, at most `limit` + 1 (one more says the list was cut). */
export async function itemsOfAccount(db: Knex, a: TraceAccountKey, limit: number): Promise<ItemRow[]> {
  const [rows] = (await db.raw(
    `SELECT ${COLUMNS} FROM billing_item FORCE INDEX (ix_billing_item_seller)
      WHERE region = ? AND shop_user_id = ${int64Literal(a.shopUserId)} AND cycle_id = ${int64Literal(a.cycleId)} AND currency = ?
      ORDER BY id LIMIT ${limit + 1}`,
    [a.region, a.currency],
  )) as [ItemRow[]];
  return rows;
}

/** An order's items (its events, commission, uploaded rows naming it), at most `limit` + 1. */
export async function itemsOfOrder(db: Knex, orderId: bigint, limit: number): Promise<ItemRow[]> {
  const [rows] = (await db.raw(
    `SELECT ${COLUMNS} FROM billing_item FORCE INDEX (ix_billing_item_order) WHERE order_id = ${int64Literal(orderId)} ORDER BY id LIMIT ${limit + 1}`,
  )) as [ItemRow[]];
  return rows;
}

/** Items whose idempotency key is `ref`, in any region and source. */
export async function itemsByRef(db: Knex, ref: string): Promise<ItemRow[]> {
  const regions = Object.keys(REGIONS);
  const [rows] = (await db.raw(
    `SELECT ${COLUMNS} FROM billing_item FORCE INDEX (uq_billing_item_source)
      WHERE region IN (${marks(regions.length)}) AND source IN (${marks(ITEM_SOURCES.length)}) AND source_ref = ? ORDER BY id`,
    [...regions, ...ITEM_SOURCES, ref],
  )) as [ItemRow[]];
  return rows;
}

/** The one item of a business key, e.g. a payout's return or a cycle's carry-forward. */
export async function itemByKey(db: Knex, region: string, source: string, ref: string): Promise<ItemRow | undefined> {
  const [rows] = (await db.raw(
    `SELECT ${COLUMNS} FROM billing_item FORCE INDEX (uq_billing_item_source) WHERE region = ? AND source = ? AND source_ref = ?`,
    [region, source, ref],
  )) as [ItemRow[]];
  return rows[0];
}

interface UploadRow {
  id: string;
  file_name: string;
  created_by: string;
  created_at: Date;
}

/** The uploads the items came from, by primary key. */
export async function uploadsOf(db: Knex, items: readonly ItemRow[]): Promise<Map<string, UploadRow>> {
  const ids = [...new Set(items.filter((i) => i.upload_id !== null).map((i) => i.upload_id!))].map(big);
  const found = new Map<string, UploadRow>();
  for (const part of slices(ids, IN_LIST_MAX)) {
    const [rows] = (await db.raw(`SELECT id, file_name, created_by, created_at FROM upload WHERE id IN (${intList(part)})`)) as [UploadRow[]];
    for (const u of rows) found.set(u.id, u);
  }
  return found;
}

export function itemEntry(r: ItemRow): ItemEntry {
  return {
    kind: 'ITEM',
    at: new Date(r.created_at),
    itemId: big(r.id),
    region: r.region,
    shopUserId: big(r.shop_user_id),
    cycleId: big(r.cycle_id),
    currency: r.currency,
    amountMinor: big(r.amount_minor),
    itemType: r.item_type,
    source: r.source,
    sourceRef: r.source_ref,
    orderId: bigOrNull(r.order_id),
    late: Number(r.late) === 1,
    memo: r.memo,
  };
}

/** Step 1: the order events and uploaded rows behind the items. */
export function intakeEntries(items: readonly ItemRow[], uploads: ReadonlyMap<string, UploadRow>): TraceEntry[] {
  const out: TraceEntry[] = [];
  for (const r of items) {
    if (r.source === 'ORDER') {
      const e: OrderEventEntry = {
        kind: 'ORDER_EVENT',
        at: new Date(r.created_at),
        itemId: big(r.id),
        eventId: r.source_ref,
        orderId: bigOrNull(r.order_id),
        shopUserId: big(r.shop_user_id),
        topic: r.event_topic,
        partition: r.event_partition === null ? null : Number(r.event_partition),
        offset: bigOrNull(r.event_offset),
      };
      out.push(e);
    } else if (r.source === UPLOAD_SOURCE) {
      const u = r.upload_id === null ? undefined : uploads.get(r.upload_id);
      const e: UploadRowEntry = {
        kind: 'UPLOAD_ROW',
        at: new Date(u?.created_at ?? r.created_at),
        itemId: big(r.id),
        externalRef: r.source_ref,
        uploadId: bigOrNull(r.upload_id),
        rowNumber: bigOrNull(r.upload_row),
        fileName: u?.file_name ?? null,
        uploadedBy: u?.created_by ?? null,
      };
      out.push(e);
    }
  }
  return out;
}
