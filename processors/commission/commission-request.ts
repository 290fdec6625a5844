import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { ValidationError } from '../../runtime/errors';
import { regionInfo } from '../../runtime/money/regions';

/** The contract `sts.commission-requests.v1` (schemas/commission-request.avsc), as decoded. */
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

/** The reader schema: writers that added optional fields still decode into this shape. */
export const COMMISSION_REQUEST_SCHEMA: object = JSON.parse(
  fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'commission-request.avsc'), 'utf8'),
);

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

/**
 * The billing items one request can write, each with its own item type. The type's sign is the
 * seller's (or affiliate's) point of view: a fee is a debit, a credit or a returned fee a credit.
 */
export const ITEM_PARTS = {
  FEE: 'COMMISSION_FEE',
  AFFILIATE: 'AFFILIATE_COMMISSION',
  FEE_CLAWBACK: 'COMMISSION_FEE_CLAWBACK',
  AFFILIATE_CLAWBACK: 'AFFILIATE_COMMISSION_CLAWBACK',
} as const;
export type ItemPart = keyof typeof ITEM_PARTS;

/** billing_item.source for every commission item. */
export const COMMISSION_SOURCE = 'COMMISSION';

const SOURCE_REF_MAX = 128;

/**
 * The item's idempotency key, `<request_id>:<part>`: a redelivered request rebuilds the same key
 * and the ledger's unique (region, source, source_ref) finds the item already there. A request id
 * too long to fit billing_item.source_ref (128) with its suffix is replaced by its SHA-256, which
 * is just as deterministic; truncating instead could make two long ids share a key.
 *
 * A request id that itself reads `sha256:<64 hex digits>` is hashed too: kept readable, its key
 * would be exactly the hashed key of the long id with that digest, and the second request's
 * items would be taken for the first's. Every other readable key has no `sha256:<hex>:` shape,
 * so the two forms never meet (the part is the text after the last colon, so it is unambiguous).
 */
export function commissionSourceRef(requestId: string, part: ItemPart): string {
  const ref = `${requestId}:${part}`;
  if (ref.length <= SOURCE_REF_MAX && !DIGEST_SHAPED.test(requestId)) return ref;
  return `sha256:${crypto.createHash('sha256').update(requestId, 'utf8').digest('hex')}:${part}`;
}
const DIGEST_SHAPED = /^sha256:[0-9a-f]{64}$/;
