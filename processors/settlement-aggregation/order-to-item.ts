import { ValidationError } from '../../runtime/errors';
import type { BillingItemInput } from '../../runtime/ledger/billing-ledger';
import type { ResolvedCycle } from '../../runtime/ledger/cycle-resolver';
import { regionInfo } from '../../runtime/money/regions';
import type { OrderEvent } from './order-event';

/**
 * Completed adds income, refunded subtracts, adjusted adds its signed amount. The event id is the
 * item's source_ref, which makes a redelivered event a duplicate instead of a second item.
 */
const ITEM_TYPE = { ORDER_COMPLETED: 'ORDER_INCOME', ORDER_REFUNDED: 'REFUND', ORDER_ADJUSTED: 'ADJUSTMENT' } as const;

export function validateOrderEvent(e: OrderEvent): void {
  const info = regionInfo(e.region);
  if (!info) throw new ValidationError(`unknown region ${e.region}`, { eventId: e.event_id });
  if (info.currency !== e.currency) throw new ValidationError(`currency ${e.currency} does not belong to region ${e.region}`, { eventId: e.event_id });
  if (e.shop_user_id <= 0n || e.order_id <= 0n) throw new ValidationError('order_id and shop_user_id must be positive', { eventId: e.event_id });
  if (e.event_type !== 'ORDER_ADJUSTED' && e.amount_minor <= 0n) throw new ValidationError(`${e.event_type} needs a positive amount`, { eventId: e.event_id });
  if (e.amount_minor === 0n) throw new ValidationError('amount_minor must be non-zero', { eventId: e.event_id });
  if (!e.event_id || e.event_id.length > 128) throw new ValidationError('event_id must be 1 to 128 characters', { eventId: e.event_id });
}

/** `cycle` is where the item lands: the event's own cycle, or the next open one if that closed. */
export function orderEventToItem(e: OrderEvent, id: bigint, cycle: ResolvedCycle): BillingItemInput {
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
  };
}
