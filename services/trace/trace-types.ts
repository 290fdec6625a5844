/**
 * The answer to "why was this seller paid this much?" (`sts trace`, GET /trace/...): what the
 * pipeline stored about one payout, seller cycle, order or reference, as five steps in the order
 * money moves, each entry with its time.
 *
 * This shape is a contract: the CLI's --json and the ops API return it, and the dashboard builds
 * its seller page and search box on it. Add fields and entry kinds; never rename or remove one.
 * On the wire (JSON) every bigint is a decimal string (ids, amounts in minor units, offsets) and
 * every Date an ISO 8601 string in UTC; no amount is ever formatted.
 */

export const TRACE_KINDS = ['seller', 'payout', 'order', 'ref'] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

export interface TraceQuery {
  kind: TraceKind;
  /** The id or reference asked about, as given. */
  id: string;
  /** seller only: which region (default: the region of the seller's latest cycle). */
  region?: string;
  /** seller only: which cycle (default: the latest cycle with a payout, else the latest). */
  cycleId?: bigint;
}

export interface TraceOptions {
  /** Items listed per trace at most; past it `truncated` is true and the close's account still
   * gives the exact balance and count. */
  itemLimit: number;
}

export const TRACE_DEFAULTS: TraceOptions = { itemLimit: 2000 };

/** One settlement account: a seller's balance in one region, currency and cycle. */
export interface TraceAccountKey {
  region: string;
  shopUserId: bigint;
  cycleId: bigint;
  currency: string;
}

/** What the query resolved to. */
export interface TraceSubject {
  kind: TraceKind;
  id: string;
  /** How a `ref` was matched: an item's source_ref, a payout, order or seller id, or a gateway transfer's reference. */
  matchedAs: 'payout' | 'seller' | 'order' | 'item' | 'gateway-reference' | null;
  /** The accounts the trace covers (an order's seller and affiliate, or one seller cycle). */
  accounts: TraceAccountKey[];
  payoutIds: bigint[];
  orderId: bigint | null;
  /** `ref`: the billing item whose source_ref matched. */
  matchedItemId: bigint | null;
}

export const TRACE_STEPS = ['intake', 'booked', 'close', 'payment', 'oversight'] as const;
export type TraceStepName = (typeof TRACE_STEPS)[number];

export const STEP_TITLES: Readonly<Record<TraceStepName, string>> = {
  intake: 'what came in',
  booked: 'what was booked',
  close: 'what the close made',
  payment: 'how it was paid',
  oversight: 'findings and operator actions',
};

export interface TraceStep {
  step: TraceStepName;
  title: string;
  /** Oldest first. */
  entries: TraceEntry[];
}

export interface TraceResult {
  subject: TraceSubject;
  /** Always the five steps, in TRACE_STEPS order; a step with nothing stored has no entries. */
  steps: TraceStep[];
  /** More items than TraceOptions.itemLimit: the item lists are cut, the totals are not. */
  truncated: boolean;
}

// ---- 1. intake -------------------------------------------------------------------------------

/** An order event, where the aggregation read it. Coordinates are null for items booked before
 * migration 0018 stored them. `at`: when its item was booked. */
export interface OrderEventEntry {
  kind: 'ORDER_EVENT';
  at: Date;
  itemId: bigint;
  eventId: string;
  orderId: bigint | null;
  shopUserId: bigint;
  topic: string | null;
  partition: number | null;
  offset: bigint | null;
}

/** An uploaded row. `at`: when the upload was received (the item's time without the upload). */
export interface UploadRowEntry {
  kind: 'UPLOAD_ROW';
  at: Date;
  itemId: bigint;
  externalRef: string;
  uploadId: bigint | null;
  rowNumber: bigint | null;
  fileName: string | null;
  uploadedBy: string | null;
}

// ---- 2. booked -------------------------------------------------------------------------------

/** A billing item: ORDER, UPLOAD, COMMISSION, CARRY_FORWARD (carried in) or PAYOUT_RETURN. */
export interface ItemEntry {
  kind: 'ITEM';
  at: Date;
  itemId: bigint;
  region: string;
  shopUserId: bigint;
  cycleId: bigint;
  currency: string;
  amountMinor: bigint;
  itemType: string;
  source: string;
  sourceRef: string;
  orderId: bigint | null;
  /** Booked into the next open cycle because its own had closed. */
  late: boolean;
  memo: string | null;
}

/** The one commission charge of an order, with the rule version that priced it. */
export interface CommissionChargeEntry {
  kind: 'COMMISSION_CHARGE';
  at: Date;
  region: string;
  orderId: bigint;
  shopUserId: bigint;
  affiliateUserId: bigint | null;
  currency: string;
  requestId: string;
  ruleId: bigint;
  ruleVersion: number;
  ruleCategory: string;
  orderAmountMinor: bigint;
  feeMinor: bigint;
  affiliateCreditMinor: bigint;
  refundedMinor: bigint;
  feeClawedBackMinor: bigint;
  affiliateClawedBackMinor: bigint;
}

/** A refund's clawback, under the rule version of the order's charge. */
export interface CommissionClawbackEntry {
  kind: 'COMMISSION_CLAWBACK';
  at: Date;
  region: string;
  orderId: bigint;
  requestId: string;
  currency: string | null;
  ruleVersion: number | null;
  refundAmountMinor: bigint;
  feeClawbackMinor: bigint;
  affiliateClawbackMinor: bigint;
}

// ---- 3. close --------------------------------------------------------------------------------

/** The running balance the close snapshots. `at`: its last change. */
export interface AccountEntry {
  kind: 'ACCOUNT';
  at: Date;
  region: string;
  shopUserId: bigint;
  cycleId: bigint;
  currency: string;
  balanceMinor: bigint;
  itemCount: bigint;
}

export interface PayoutEntry {
  kind: 'PAYOUT';
  at: Date;
  payoutId: bigint;
  region: string;
  cycleId: bigint;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  status: string;
  rail: string;
  holdReason: string | null;
  payeeAccountId: bigint | null;
  holdDecidedBy: string | null;
  holdDecidedAt: Date | null;
}

/** A balance below the minimum (or a debt) carried into the next cycle by the close. */
export interface CarryForwardEntry {
  kind: 'CARRY_FORWARD';
  at: Date;
  itemId: bigint;
  region: string;
  shopUserId: bigint;
  currency: string;
  fromCycleId: bigint;
  toCycleId: bigint;
  amountMinor: bigint;
}

/** The seller is on hold now (seller_hold); the close holds its payouts while it is. */
export interface SellerHoldEntry {
  kind: 'SELLER_HOLD';
  at: Date;
  region: string;
  shopUserId: bigint;
  reason: string;
}

// ---- 4. payment ------------------------------------------------------------------------------

/** What payment-notify sent to the gateway, and from which payout event. */
export interface SubmissionEntry {
  kind: 'SUBMISSION';
  at: Date;
  payoutId: bigint;
  payeeAccount: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: bigint;
  escalatedAt: Date | null;
  escalationCode: string | null;
  blocked: boolean;
}

/** Where the payout stands: the gateway's or the bank's answer as recorded on the payout. */
export interface PayoutResultEntry {
  kind: 'PAYOUT_RESULT';
  at: Date;
  payoutId: bigint;
  status: string;
  rail: string;
  attempts: number;
  gatewayReference: string | null;
  failureCode: string | null;
  /** When it became final; null while it is not. */
  decidedAt: Date | null;
}

/** The payout's money transaction in the payment ledger (tx id = payout id). */
export interface TccEntry {
  kind: 'TCC';
  at: Date;
  txId: bigint;
  state: string;
  currency: string;
  amountMinor: bigint;
  resolvedAt: Date | null;
}

/** One fund_movement row: a phase of the payout's transaction, debit -> credit. */
export interface PostingEntry {
  kind: 'POSTING';
  at: Date;
  txId: bigint;
  phase: string;
  debitAccount: string;
  creditAccount: string;
  currency: string;
  amountMinor: bigint;
}

/** The pain.001 a bank-file payout travelled in. `at`: when it was assigned. */
export interface BankFileEntry {
  kind: 'BANK_FILE';
  at: Date;
  msgId: string;
  region: string;
  currency: string;
  status: string;
  bankStatus: string | null;
  txCount: number;
  ctrlSumMinor: bigint;
  writtenAt: Date | null;
  submittedAt: Date | null;
  transmittedAt: Date | null;
}

/** A pain.002 about the payout's file, as applied. */
export interface BankReportEntry {
  kind: 'BANK_REPORT';
  at: Date;
  msgId: string;
  reportKind: string;
  orgnlMsgId: string | null;
  groupStatus: string | null;
  fileName: string;
}

/** A camt.054 debit booked for the payout. `at`: when its report was applied. */
export interface BankDebitEntry {
  kind: 'BANK_DEBIT';
  at: Date;
  reportMsgId: string;
  endToEndId: string;
  currency: string;
  amountMinor: bigint;
  bookedOn: string | null;
}

/** What a bank report said about the payout that changed nothing (reconciliation reports it). */
export interface BankIssueEntry {
  kind: 'BANK_REPORT_ISSUE';
  at: Date;
  reportMsgId: string;
  endToEndId: string | null;
  issueKind: string;
  detail: string;
}

/** A refused or cancelled payout's amount, back in the seller's balance (once). */
export interface PayoutReturnEntry {
  kind: 'PAYOUT_RETURN';
  at: Date;
  itemId: bigint;
  payoutId: bigint;
  region: string;
  cycleId: bigint;
  currency: string;
  amountMinor: bigint;
}

// ---- 5. oversight ----------------------------------------------------------------------------

/** A reconciliation finding about the payout, account, order or ledger transaction. `at`: first seen. */
export interface FindingEntry {
  kind: 'FINDING';
  at: Date;
  findingId: bigint;
  rule: string;
  severity: string;
  entity: string;
  detail: string;
  lastSeen: Date;
  resolvedAt: Date | null;
}

/** An operator action (ops_audit) whose target is the payout, the seller or an upload. */
export interface AuditEntry {
  kind: 'AUDIT';
  at: Date;
  auditId: bigint;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  status: number | null;
  /** The recorded JSON input and outcome, as stored. */
  detail: string | null;
}

export type TraceEntry =
  | OrderEventEntry
  | UploadRowEntry
  | ItemEntry
  | CommissionChargeEntry
  | CommissionClawbackEntry
  | AccountEntry
  | PayoutEntry
  | CarryForwardEntry
  | SellerHoldEntry
  | SubmissionEntry
  | PayoutResultEntry
  | TccEntry
  | PostingEntry
  | BankFileEntry
  | BankReportEntry
  | BankDebitEntry
  | BankIssueEntry
  | PayoutReturnEntry
  | FindingEntry
  | AuditEntry;
