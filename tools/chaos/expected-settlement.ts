import type { OrderEvent } from '../../contracts/order-event';

/**
 * What a cycle's order events must settle to, computed here from the events alone and never with
 * the pipeline's own code, so a check built on it cannot share the pipeline's mistakes. It
 * follows the commission contract for one flat rule: the fee is amount × rate, rounded half up;
 * an affiliate is credited the fee; a refund claws back fee × refunded / amount (half up, capped
 * at the amount) less what earlier refunds clawed, from the seller's fee and the affiliate's
 * credit alike. Events are taken in the order given; a re-sent event id counts once.
 */
export interface ExpectedSettlement {
  /** Net per seller (and per affiliate) in minor units. */
  net: Map<bigint, bigint>;
  /** Distinct event ids: one ORDER billing item each. */
  events: number;
  /** Completed orders: one COMMISSION_FEE billing item each. */
  completed: number;
}

/** Half-up division, as the commission rules state: (2ab + c) / 2c. */
const mulDivHalfUp = (a: bigint, b: bigint, c: bigint) => (2n * a * b + c) / (2n * c);

export function expectedSettlement(events: readonly OrderEvent[], rateBps: bigint): ExpectedSettlement {
  const net = new Map<bigint, bigint>();
  const add = (who: bigint, v: bigint) => net.set(who, (net.get(who) ?? 0n) + v);
  const orders = new Map<bigint, { amount: bigint; fee: bigint; refunded: bigint; clawed: bigint; affiliate: bigint | null }>();
  const seen = new Set<string>();
  let completed = 0;
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    if (e.event_type === 'ORDER_COMPLETED') {
      completed++;
      const fee = mulDivHalfUp(e.amount_minor, rateBps, 10_000n);
      orders.set(e.order_id, { amount: e.amount_minor, fee, refunded: 0n, clawed: 0n, affiliate: e.affiliate_user_id });
      add(e.shop_user_id, e.amount_minor - fee);
      if (e.affiliate_user_id !== null) add(e.affiliate_user_id, fee);
    } else if (e.event_type === 'ORDER_REFUNDED') {
      const o = orders.get(e.order_id);
      if (!o) throw new Error(`refund ${e.event_id} of an order never completed: the expectation needs the completion first`);
      o.refunded += e.amount_minor;
      const due = mulDivHalfUp(o.fee, o.refunded < o.amount ? o.refunded : o.amount, o.amount);
      const claw = due - o.clawed;
      o.clawed = due;
      add(e.shop_user_id, -e.amount_minor + claw);
      if (o.affiliate !== null) add(o.affiliate, -claw);
    } else add(e.shop_user_id, e.amount_minor);
  }
  return { net, events: seen.size, completed };
}
