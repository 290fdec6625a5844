import type { OutboxMessage } from '../../runtime/outbox/outbox-writer';
import type { OrderEvent } from './order-event';

/**
 * The commission request an order event causes, in the shape of `sts.commission-requests.v1`
 * (schemas/commission-request.avsc): a completed order is charged, a refund claws back in
 * proportion. Adjustments carry no commission. The request id is the event id, so the commission
 * processor's own keys make a replayed request a no-op.
 */
export const COMMISSION_TOPIC = 'sts.commission-requests.v1';

export function commissionRequestFor(e: OrderEvent, topic = COMMISSION_TOPIC): OutboxMessage | null {
  if (e.event_type === 'ORDER_ADJUSTED') return null;
  return {
    topic,
    key: e.shop_user_id.toString(),
    eventId: `commission-request:${e.event_id}`,
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
