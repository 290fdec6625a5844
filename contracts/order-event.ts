import { codePointLength, EDGE_LIMITS } from '../runtime/edge-limits';
import { codePointName, idCharProblemAt, quoteForReason } from '../runtime/edge-text';
import { ValidationError } from '../runtime/errors';
import { itemAmountProblem } from '../runtime/money/money-bounds';
import { regionInfo } from '../runtime/money/regions';
import { TOPICS } from '../topologies/settlement';
import { contractFor } from './contract';

/**
 * `sts.order-events.v1` (schemas/order-event.avsc): what upstream order systems publish, one
 * event per completed, refunded or adjusted order, keyed by the seller. Published by upstream (and
 * by `sts orders produce`, the chaos run and the demo), read by settlement-aggregation.
 */
export const ORDER_EVENT_TYPES = ['ORDER_COMPLETED', 'ORDER_REFUNDED', 'ORDER_ADJUSTED'] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

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

export const ORDER_EVENTS = contractFor<OrderEvent>(TOPICS.orderEvents);

/**
 * How far from now an event's occurred_at may lie. The instant picks the cycle the item is booked
 * into, and a cycle is created OPEN the first time an item names it: an event dated years back or
 * ahead would open a cycle no schedule ever closes, and park its seller's money there. Late
 * events of a closed cycle inside the window still land in the next open cycle, flagged late.
 */
export interface EventTimeWindow {
  /** An event older than this (ms before now) is refused. */
  maxAgeMs: number;
  /** An event dated more than this (ms) after now is refused: clock skew, not a future sale. */
  maxFutureMs: number;
}

const DAY_MS = 86_400_000;

/** STS_EVENT_MAX_AGE_DAYS (400) and STS_EVENT_MAX_FUTURE_MS (24 h), the defaults of runtime/config.ts. */
export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = Object.freeze({ maxAgeMs: 400 * DAY_MS, maxFutureMs: DAY_MS });

export function eventTimeWindow(config: { eventMaxAgeDays: number; eventMaxFutureMs: number }): EventTimeWindow {
  return { maxAgeMs: config.eventMaxAgeDays * DAY_MS, maxFutureMs: config.eventMaxFutureMs };
}

const EVENT_TYPES: ReadonlySet<string> = new Set(ORDER_EVENT_TYPES);
const INT64_MAX = 2n ** 63n - 1n;

// Module constants: under tsx each read of an imported binding is a getter call, once per event.
const EVENT_ID_MAX = EDGE_LIMITS.eventIdMaxChars;
const CATEGORY_MAX = EDGE_LIMITS.categoryMaxChars;

/**
 * Every field of an order event against the contract (docs/CONTRACTS.md), before anything is
 * written: a ValidationError here sends the record to the DLQ with this reason and its
 * coordinates, and its neighbours are applied as if it had never been sent.
 */
export function validateOrderEvent(e: OrderEvent, window: EventTimeWindow = DEFAULT_EVENT_TIME_WINDOW, nowMs: number = Date.now()): void {
  const id = typeof e.event_id === 'string' ? e.event_id : '';

  // The id first: every later reason quotes it, and it becomes a unique key.
  if (id === '') refuse(id, 'event_id', 'must not be empty');
  // The UTF-16 length bounds the code points from above: they are counted only for a long id.
  if (id.length > EVENT_ID_MAX) {
    const idLength = codePointLength(id);
    if (idLength > EVENT_ID_MAX) refuse(id, 'event_id', `is ${idLength} characters; at most ${EVENT_ID_MAX}`);
  }
  const bad = idCharProblemAt(id);
  if (bad >= 0) refuse(id, 'event_id', `holds ${codePointName(id, bad)} at character ${bad + 1}: control, format and line-separator characters are not allowed`);
  // The contract refuses edge whitespace: the key columns compare bytes exactly (NO PAD), but an
  // upstream that sends "e1 " beside "e1" almost always means one event, not two.
  if (id.trim() !== id) refuse(id, 'event_id', 'must not start or end with whitespace');

  if (!EVENT_TYPES.has(e.event_type)) refuse(id, 'event_type', `"${quoteForReason(String(e.event_type))}" is not one of ${[...EVENT_TYPES].join(', ')}`);
  positiveId(id, 'order_id', e.order_id);
  positiveId(id, 'shop_user_id', e.shop_user_id);
  if (e.affiliate_user_id !== null && e.affiliate_user_id !== undefined) positiveId(id, 'affiliate_user_id', e.affiliate_user_id);

  // Codes match exactly: the contract's codes are upper-case ASCII, and nothing is folded (see
  // runtime/edge-text.ts for why toUpperCase would let look-alikes through).
  const info = typeof e.region === 'string' ? regionInfo(e.region) : undefined;
  if (!info) refuse(id, 'region', `"${quoteForReason(String(e.region))}" is not a region the marketplace settles (SG, MY, TH, VN, ID, PH, TW, BR)`);
  if (e.currency !== info!.currency) refuse(id, 'currency', `"${quoteForReason(String(e.currency))}" is not the currency of region ${info!.region} (${info!.currency})`);

  if (typeof e.amount_minor !== 'bigint') refuse(id, 'amount_minor', 'must be a 64-bit integer');
  if (e.event_type === 'ORDER_ADJUSTED') {
    if (e.amount_minor === 0n) refuse(id, 'amount_minor', 'must be non-zero for ORDER_ADJUSTED');
  } else if (e.amount_minor <= 0n) refuse(id, 'amount_minor', `${e.amount_minor} is not positive; ${e.event_type} needs a positive amount`);
  const bound = itemAmountProblem(info!.currency, e.amount_minor);
  if (bound) refuse(id, 'amount_minor', bound);

  const category = typeof e.category === 'string' ? e.category : '';
  if (category === '') refuse(id, 'category', 'must not be empty');
  if (category.length > CATEGORY_MAX) {
    const catLength = codePointLength(category);
    if (catLength > CATEGORY_MAX) refuse(id, 'category', `is ${catLength} characters; at most ${CATEGORY_MAX}`);
  }
  const badCat = idCharProblemAt(category);
  if (badCat >= 0) refuse(id, 'category', `holds ${codePointName(category, badCat)} at character ${badCat + 1}: control, format and line-separator characters are not allowed`);

  const at = e.occurred_at instanceof Date ? e.occurred_at.getTime() : Number.NaN;
  if (!Number.isFinite(at)) refuse(id, 'occurred_at', 'is not a valid instant');
  if (at < nowMs - window.maxAgeMs) {
    refuse(id, 'occurred_at', `${new Date(at).toISOString()} is more than ${Math.round(window.maxAgeMs / DAY_MS)} days in the past (STS_EVENT_MAX_AGE_DAYS); correct it with an ORDER_ADJUSTED event dated now`);
  }
  if (at > nowMs + window.maxFutureMs) {
    refuse(id, 'occurred_at', `${new Date(at).toISOString()} is more than ${window.maxFutureMs} ms in the future (STS_EVENT_MAX_FUTURE_MS): the producer's clock or the field is wrong`);
  }
}

function positiveId(id: string, field: string, value: unknown): void {
  if (typeof value !== 'bigint' || value <= 0n || value > INT64_MAX) refuse(id, field, `${String(value)} is not a positive 64-bit integer`);
}

/** A module function, not a closure per event: validation runs for every record consumed. */
function refuse(id: string, field: string, detail: string): never {
  throw new ValidationError(`${field}: ${detail}`, { eventId: quoteForReason(id, EDGE_LIMITS.eventIdMaxChars), field });
}

