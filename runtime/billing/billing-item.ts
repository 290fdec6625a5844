/** One billing item to book, as every writer of the ledger hands it over. */
export interface BillingItemInput {
  id: bigint;
  region: string;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  itemType: string;
  source: string;
  sourceRef: string;
  orderId?: bigint | null;
  cycleId: bigint;
  late?: boolean;
  memo?: string | null;
  /** ORDER items: where the order event was read (migration 0018), for `sts trace`. */
  eventTopic?: string;
  eventPartition?: number;
  eventOffset?: bigint;
  /** UPLOAD items: the upload and its 1-based data row (migration 0018). */
  uploadId?: bigint;
  uploadRow?: bigint;
}

/** Stable reason codes: upload rejects and dead letters carry them. */
export type RefusalCode = 'AMOUNT_OUT_OF_BOUNDS' | 'BALANCE_LIMIT';

export interface RefusedItem {
  item: BillingItemInput;
  code: RefusalCode;
  reason: string;
}
