import type { OrderEvent } from '../../contracts/order-event';
import { regionInfo } from '../../runtime/money/regions';

/**
 * Synthetic upstream order events, for `sts orders produce`, the demo, tests and benchmarks.
 * A reproducible order stream for one region: completed orders, partial and full refunds of them
 * (always after the completion, on the same seller key, so in order), signed adjustments, some
 * orders with an affiliate, and `resend` events published twice. Ids are 18 digits.
 */
export interface OrderStreamOptions {
  orders: number;
  sellers: number;
  occurredAt: (i: number) => Date;
  seed?: number;
  prefix: string;
  /** SG by default; the currency follows the region. */
  region?: string;
  /** First order id; streams that must not share orders get different bases. */
  orderBase?: bigint;
}

export const SELLER_BASE = 652024209997000000n;
export const AFFILIATE_BASE = 652024209998000000n;
/** Affiliates earn commission on a tenth of the orders: AFFILIATE_BASE + 0 .. AFFILIATES - 1. */
export const AFFILIATES = 50;

export function orderStream(o: OrderStreamOptions): OrderEvent[] {
  let state = o.seed ?? 42;
  const rand = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const events: OrderEvent[] = [];
  for (let i = 0; i < o.orders; i++) {
    const seller = SELLER_BASE + BigInt(rand(o.sellers));
    const orderId = (o.orderBase ?? 900000000000000000n) + BigInt(i);
    const amount = BigInt(100 + rand(50_000));
    const affiliate = rand(10) === 0 ? AFFILIATE_BASE + BigInt(rand(AFFILIATES)) : null;
    const region = o.region ?? 'SG';
    const base = { order_id: orderId, shop_user_id: seller, region, currency: regionInfo(region)!.currency, category: rand(3) === 0 ? 'books' : 'electronics', affiliate_user_id: affiliate };
    events.push({ ...base, event_id: `${o.prefix}-c-${i}`, event_type: 'ORDER_COMPLETED', amount_minor: amount, occurred_at: o.occurredAt(i) });
    const r = rand(10);
    if (r === 0) {
      events.push({ ...base, event_id: `${o.prefix}-r1-${i}`, event_type: 'ORDER_REFUNDED', amount_minor: amount / 3n, occurred_at: o.occurredAt(i) });
      events.push({ ...base, event_id: `${o.prefix}-r2-${i}`, event_type: 'ORDER_REFUNDED', amount_minor: amount - amount / 3n, occurred_at: o.occurredAt(i) });
    } else if (r === 1) {
      events.push({ ...base, event_id: `${o.prefix}-r-${i}`, event_type: 'ORDER_REFUNDED', amount_minor: amount / 2n, occurred_at: o.occurredAt(i) });
    } else if (r === 2) {
      events.push({ ...base, event_id: `${o.prefix}-a-${i}`, event_type: 'ORDER_ADJUSTED', amount_minor: BigInt(rand(2000)) - 1000n || 1n, occurred_at: o.occurredAt(i) });
    }
  }
  return events;
}
