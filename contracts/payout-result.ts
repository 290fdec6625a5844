import { ValidationError } from '../runtime/errors';
import { regionInfo } from '../runtime/money/regions';
import { TOPICS } from '../topologies/settlement';
import type { OutboxMessage } from '../runtime/outbox/outbox-writer';
import { contractFor } from './contract';

/**
 * `sts.payout-results.v1` (schemas/payout-result.avsc): the final state of a payout at the
 * gateway, PAID or FAILED, keyed by the seller so one seller's results stay in order. Written by
 * payment-notify through the outbox when it records the outcome; read by downstream teams
 * (examples/payout-results-consumer.ts).
 */
export interface PayoutResult {
  /** `payout-result:<payout_id>`: a payout has exactly one final result. */
  event_id: string;
  payout_id: bigint;
  shop_user_id: bigint;
  region: string;
  currency: string;
  amount_minor: bigint;
  status: PayoutResultStatus;
  gateway_reference: string | null;
  /** The gateway's reason for a FAILED payout; null when PAID. */
  failure_code: string | null;
  decided_at: Date;
}

export const PAYOUT_RESULT_STATUSES = ['PAID', 'FAILED'] as const;
export type PayoutResultStatus = (typeof PAYOUT_RESULT_STATUSES)[number];

export const PAYOUT_RESULTS = contractFor<PayoutResult>(TOPICS.payoutResults);

/** The event id of a payout's result: derived from the payout alone, so a retry writes the same one. */
export const payoutResultEventId = (payoutId: bigint): string => `payout-result:${payoutId}`;

/** What a consumer may rely on beyond the schema; a failure is a producer's bug, never the consumer's. */
export function validatePayoutResult(r: PayoutResult): void {
  const ctx = { payoutId: String(r.payout_id) };
  if (r.payout_id <= 0n || r.shop_user_id <= 0n) throw new ValidationError('payout_id and shop_user_id must be positive', ctx);
  if (r.event_id !== payoutResultEventId(r.payout_id)) throw new ValidationError(`event_id ${r.event_id} is not ${payoutResultEventId(r.payout_id)}`, ctx);
  const info = regionInfo(r.region);
  if (!info) throw new ValidationError(`unknown region ${r.region}`, ctx);
  if (info.currency !== r.currency) throw new ValidationError(`currency ${r.currency} does not belong to region ${r.region}`, ctx);
  if (r.amount_minor <= 0n) throw new ValidationError(`a payout result needs a positive amount_minor (got ${r.amount_minor})`, ctx);
  if (r.status === 'PAID' && r.failure_code !== null) throw new ValidationError('a PAID result carries no failure_code', ctx);
  if (r.status === 'FAILED' && (r.failure_code === null || r.failure_code === '')) throw new ValidationError('a FAILED result names its failure_code', ctx);
  if (Number.isNaN(r.decided_at.getTime())) throw new ValidationError('decided_at is not a valid instant', ctx);
}

/**
 * A payout's one result as an outbox message, keyed by shop_user_id so a seller's results stay in
 * order. Its event id is derived from the payout alone, so a retried finalisation writes the same
 * outbox row and consumers can deduplicate on the `sts-event-id` header.
 */
export function payoutResultMessage(
  p: { payoutId: bigint; shopUserId: bigint; region: string; currency: string; amountMinor: bigint },
  final: { status: PayoutResultStatus; reference: string | null; failureCode: string | null },
  decidedAt: Date,
): OutboxMessage<PayoutResult> {
  const eventId = payoutResultEventId(p.payoutId);
  return {
    key: p.shopUserId.toString(),
    eventId,
    value: {
      event_id: eventId,
      payout_id: p.payoutId,
      shop_user_id: p.shopUserId,
      region: p.region,
      currency: p.currency,
      amount_minor: p.amountMinor,
      status: final.status,
      gateway_reference: final.reference,
      failure_code: final.status === 'FAILED' ? final.failureCode : null,
      decided_at: decidedAt,
    },
  };
}
