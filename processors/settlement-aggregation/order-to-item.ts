import type { OrderEvent } from '../../contracts/order-event';
import type { BillingItemInput } from '../../runtime/billing/billing-ledger';
import type { ResolvedCycle } from '../../runtime/billing/cycle-resolver';

/** Where the event was read; kept on the item so `sts trace` can point back at it. */
export interface EventCoordinates {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Completed adds income, refunded subtracts, adjusted adds its signed amount. The event id is the
 * item's source_ref, which makes a redelivered event a duplicate instead of a second item.
 */
const ITEM_TYPE = { ORDER_COMPLETED: 'ORDER_INCOME', ORDER_REFUNDED: 'REFUND', ORDER_ADJUSTED: 'ADJUSTMENT' } as const;

/** `cycle` is where the item lands: the event's own cycle, or the next open one if that closed. */
export function orderEventToItem(e: OrderEvent, id: bigint, cycle: ResolvedCycle, at?: EventCoordinates): BillingItemInput {
  return {
    id,
    region: e.region,
    shopUserId: e.shop_user_id,
    currency: e.currency,
    amountMinor: e.event_type === 'ORDER_REFUNDED' ? -e.amount_minor : e.amount_minor,
    itemType: ITEM_TYPE[e.event_type],
    source: 'ORDER',
    sourceRef: e.event_id,
    orderId: e.order_id,
    cycleId: cycle.cycleId,
    late: cycle.late,
    ...(at ? { eventTopic: at.topic, eventPartition: at.partition, eventOffset: BigInt(at.offset) } : {}),
  };
}
