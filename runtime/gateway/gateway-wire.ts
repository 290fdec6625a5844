/**
 * The payment gateway's HTTP contract, as both our client and the local simulator speak it.
 * Every id and amount travels as a decimal string (docs/DESIGN.md, lesson 8): an 18-digit payout id
 * or a large amount in minor units would lose digits as a JSON number.
 *
 *   POST /v1/payouts            header Idempotency-Key, body PayoutInstructionWire -> PayoutResultWire
 *   GET  /v1/payouts/:key       -> PayoutResultWire, or 404 when the key was never executed
 *   GET  /v1/payouts?since&limit&cursor -> SettlementReportPage (reconciliation)
 *
 * A permanent business failure (an account the gateway refuses) is NOT an HTTP error: it is a
 * 200 with status REJECTED, recorded under the key like an execution, so a retry gets the same
 * answer. HTTP errors mean "not processed" (400, 422, 503) or "we don't know" (timeouts, resets).
 */

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on a response that replays a stored result instead of executing. */
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface PayoutInstructionWire {
  payout_id: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  account: string;
}

export type PayoutStatus = 'EXECUTED' | 'REJECTED';

export interface PayoutResultWire {
  key: string;
  status: PayoutStatus;
  reference: string;
  failure_code?: string;
  /** ISO 8601, UTC. */
  executed_at: string;
}

/** One line of the settlement report: what the gateway did, in execution order. */
export interface SettlementReportItem extends PayoutInstructionWire {
  seq: number;
  key: string;
  status: PayoutStatus;
  reference: string;
  failure_code?: string;
  executed_at: string;
}

export interface SettlementReportPage {
  items: SettlementReportItem[];
  /** Pass as `cursor` for the next page; null when this page reached the end. */
  next_cursor: string | null;
}

/** Error body of every non-200 answer. */
export interface GatewayErrorWire {
  error: string;
  message: string;
}

/** Failure code of a payout to an account the gateway refuses. */
export const INVALID_ACCOUNT = 'INVALID_ACCOUNT';
