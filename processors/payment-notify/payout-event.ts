import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { ValidationError } from '../../runtime/errors';
import { regionInfo } from '../../runtime/money/regions';

/** The contract of `sts.payouts.v1` (schemas/payout.avsc), as decoded: longs are bigint. */
export interface PayoutEvent {
  event_id: string;
  payout_id: bigint;
  cycle_id: bigint;
  region: string;
  shop_user_id: bigint;
  currency: string;
  amount_minor: bigint;
  /** PENDING, ON_HOLD or CARRIED_FORWARD at creation; only PENDING is paid. */
  status: string;
  created_at: Date;
}

/** The reader schema: payout events written by a later version still decode into this shape. */
export const PAYOUT_EVENT_SCHEMA: object = JSON.parse(
  fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'),
);

const STATUSES = new Set(['PENDING', 'ON_HOLD', 'CARRIED_FORWARD']);

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
  // A zero payout is never created; a negative one would be a debit, which is not a payout.
  if (e.status === 'PENDING' && e.amount_minor <= 0n)
    throw new ValidationError(
      `a PENDING payout needs a positive amount_minor (got ${e.amount_minor})`,
      ctx,
    );
}
