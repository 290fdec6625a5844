import { ValidationError } from '../runtime/errors';
import { regionInfo } from '../runtime/money/regions';
import { TOPICS } from '../topologies/settlement';
import { contractFor } from './contract';

/**
 * `sts.commission-requests.v1` (schemas/commission-request.avsc): the commission an order event
 * causes, charged when it completes and clawed back in proportion when it is refunded. Written by
 * settlement-aggregation through the outbox, in the transaction that books the order's item; read
 * by the commission processor.
 */
export type CommissionKind = 'CHARGE' | 'CLAWBACK';

export interface CommissionRequest {
  /** The source order event id: CHARGE from the completed event, CLAWBACK from each refund. */
  request_id: string;
  kind: CommissionKind;
  order_id: bigint;
  shop_user_id: bigint;
  affiliate_user_id: bigint | null;
  region: string;
  currency: string;
  category: string;
  /** The order amount (CHARGE) or the refunded amount (CLAWBACK); always positive. */
  amount_minor: bigint;
  occurred_at: Date;
}

/** Its reader schema is the contract's: writers that added optional fields still decode into this shape. */
export const COMMISSION_REQUESTS = contractFor<CommissionRequest>(TOPICS.commissionRequests);

/** Upstream event ids may be up to 128 characters, as the settlement-aggregation contract allows. */
const MAX_REQUEST_ID = 128;

export function validateCommissionRequest(req: CommissionRequest): void {
  const ctx = { requestId: req.request_id };
  if (!req.request_id || req.request_id.length > MAX_REQUEST_ID)
    throw new ValidationError(`request_id must be 1 to ${MAX_REQUEST_ID} characters`, ctx);
  const info = regionInfo(req.region);
  if (!info) throw new ValidationError(`unknown region ${req.region}`, ctx);
  if (info.currency !== req.currency)
    throw new ValidationError(
      `currency ${req.currency} does not belong to region ${req.region}`,
      ctx,
    );
  if (req.order_id <= 0n || req.shop_user_id <= 0n)
    throw new ValidationError('order_id and shop_user_id must be positive', ctx);
  if (req.affiliate_user_id !== null && req.affiliate_user_id <= 0n)
    throw new ValidationError('affiliate_user_id must be positive when present', ctx);
  if (req.amount_minor <= 0n)
    throw new ValidationError(
      `${req.kind} needs a positive amount_minor (got ${req.amount_minor})`,
      ctx,
    );
  if (Number.isNaN(req.occurred_at.getTime()))
    throw new ValidationError('occurred_at is not a valid instant', ctx);
}

