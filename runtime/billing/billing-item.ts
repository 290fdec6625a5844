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
}

/** Stable reason codes: upload rejects and dead letters carry them. */
export type RefusalCode = 'AMOUNT_OUT_OF_BOUNDS' | 'BALANCE_LIMIT';

export interface RefusedItem {
  item: BillingItemInput;
  code: RefusalCode;
  reason: string;
}
