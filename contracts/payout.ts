import { ValidationError } from '../runtime/errors';
import { regionInfo } from '../runtime/money/regions';
import { isPayoutRail, type PayoutRail } from '../runtime/payouts/payout-rails';
import { TOPICS } from '../topologies/settlement';
import { contractFor } from './contract';

/**
 * `sts.payouts.v1` (schemas/payout.avsc): one event per payout a cycle close creates, keyed by the
 * seller, and one more, PENDING, when an operator releases a held payout. Written through the
 * outbox, in the transaction that creates or releases the payout; read by payment-notify, which
 * pays the PENDING ones of the gateway rail, and by downstream teams.
 */
export interface PayoutEvent {
  event_id: string;
  payout_id: bigint;
  cycle_id: bigint;
  region: string;
  shop_user_id: bigint;
  currency: string;
  amount_minor: bigint;
  /** PENDING, ON_HOLD or CARRIED_FORWARD at creation; only PENDING is paid. */
  status: PayoutEventStatus;
  /** The only rail that may pay it: `gateway` or `bank-file` (since schema version 2). */
  rail: PayoutRail;
  /** Why an ON_HOLD payout waits (see settlement/cycle-close/payout-policy.ts); null otherwise. */
  hold_reason: string | null;
  created_at: Date;
}

/** Its reader schema is the contract's: payout events written by a later version still decode into this shape. */
export const PAYOUTS = contractFor<PayoutEvent>(TOPICS.payouts);

export const PAYOUT_EVENT_STATUSES = ['PENDING', 'ON_HOLD', 'CARRIED_FORWARD'] as const;
export type PayoutEventStatus = (typeof PAYOUT_EVENT_STATUSES)[number];
const STATUSES: ReadonlySet<string> = new Set(PAYOUT_EVENT_STATUSES);

/** Contract checks that need no database; a failure dead-letters the record (STS_VALIDATION_FAILED). */
export function validatePayoutEvent(e: PayoutEvent): void {
  const ctx = { payoutId: e.payout_id.toString() };
  if (e.payout_id <= 0n || e.shop_user_id <= 0n)
    throw new ValidationError('payout_id and shop_user_id must be positive', ctx);
  const info = regionInfo(e.region);
  if (!info) throw new ValidationError(`unknown region ${e.region}`, ctx);
  if (info.currency !== e.currency)
    throw new ValidationError(`currency ${e.currency} does not belong to region ${e.region}`, ctx);
  if (!STATUSES.has(e.status))
    throw new ValidationError(`status ${e.status} is not PENDING, ON_HOLD or CARRIED_FORWARD`, ctx);
  if (!isPayoutRail(e.rail)) throw new ValidationError(`rail ${e.rail} is not gateway or bank-file`, ctx);
  if ((e.status === 'ON_HOLD') !== (e.hold_reason !== null))
    throw new ValidationError(`hold_reason ${e.hold_reason} does not go with status ${e.status}`, ctx);
  // A zero payout is never created; a negative one would be a debit, which is not a payout.
  if (e.status === 'PENDING' && e.amount_minor <= 0n)
    throw new ValidationError(
      `a PENDING payout needs a positive amount_minor (got ${e.amount_minor})`,
      ctx,
    );
}
