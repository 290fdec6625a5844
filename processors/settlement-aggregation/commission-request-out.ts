import crypto from 'node:crypto';
import { codePointLength } from '../../runtime/edge-limits';
import type { CommissionRequest } from '../../contracts/commission-request';
import type { OutboxMessage } from '../../runtime/outbox/outbox-writer';
import type { OrderEvent } from '../../contracts/order-event';

/**
 * The commission request an order event causes, in the shape of `sts.commission-requests.v1`
 * (schemas/commission-request.avsc): a completed order is charged, a refund claws back in
 * proportion. Adjustments carry no commission. The request id is the event id, so the commission
 * processor's own keys make a replayed request a no-op.
 *
 * Every text field copied from the event is bounded by its validation (validateOrderEvent):
 * request_id ≤ 128 characters, category ≤ 64, region and currency one of the contract's codes.
 */
const EVENT_ID_PREFIX = 'commission-request:';
const HASHED_PREFIX = 'commission-request#';
/** outbox.event_id is VARCHAR(64). */
const OUTBOX_EVENT_ID_MAX = 64;

/**
 * The outbox id of the request for `eventId`, at most 64 characters whatever the event id's
 * length: `commission-request:<event id>` when that fits, else `commission-request#` and 40 hex
 * digits of the id's SHA-256. The two forms differ in their 19th character, so a short id can
 * never take the outbox id of a long one. (An id too long for the column used to be cut short
 * by INSERT IGNORE, and two event ids sharing their first 45 characters lost the second request.)
 */
export function commissionRequestEventId(eventId: string): string {
  const plain = EVENT_ID_PREFIX + eventId;
  if (codePointLength(plain) <= OUTBOX_EVENT_ID_MAX) return plain;
  return HASHED_PREFIX + crypto.createHash('sha256').update(eventId, 'utf8').digest('hex').slice(0, 40);
}

export function commissionRequestFor(e: OrderEvent): OutboxMessage<CommissionRequest> | null {
  if (e.event_type === 'ORDER_ADJUSTED') return null;
  return {
    key: e.shop_user_id.toString(),
    eventId: commissionRequestEventId(e.event_id),
    value: {
      request_id: e.event_id,
      kind: e.event_type === 'ORDER_COMPLETED' ? 'CHARGE' : 'CLAWBACK',
      order_id: e.order_id,
      shop_user_id: e.shop_user_id,
      affiliate_user_id: e.affiliate_user_id,
      region: e.region,
      currency: e.currency,
      category: e.category,
      amount_minor: e.amount_minor,
      occurred_at: e.occurred_at,
    },
  };
}
