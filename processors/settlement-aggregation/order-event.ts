/** The upstream contract `sts.order-events.v1` (schemas/order-event.avsc), as decoded. */
export type OrderEventType = 'ORDER_COMPLETED' | 'ORDER_REFUNDED' | 'ORDER_ADJUSTED';

export interface OrderEvent {
  event_id: string;
  event_type: OrderEventType;
  order_id: bigint;
  shop_user_id: bigint;
  region: string;
  currency: string;
  amount_minor: bigint;
  category: string;
  affiliate_user_id: bigint | null;
  occurred_at: Date;
}
