import type { SettledOutcome } from '../../runtime/gateway/gateway-client';
import { payoutResultEventId, type PayoutResult } from '../../contracts/payout-result';
import type { OutboxMessage } from '../../runtime/outbox/outbox-writer';
import type { SubmittedPayout } from './payout-submit';

/**
 * The PAID or FAILED result downstream teams read on `sts.payout-results.v1`
 * (schemas/payout-result.avsc), keyed by shop_user_id so a seller's results stay in order.
 * The event id is derived from the payout alone: a payout has exactly one final result, so a
 * retried finalisation writes the same outbox row (the outbox writer's duplicate check on event_id) and consumers can
 * deduplicate on the `sts-event-id` header.
 */
export function payoutResultMessage(
  p: SubmittedPayout,
  outcome: SettledOutcome,
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
      status: outcome.kind === 'executed' ? 'PAID' : 'FAILED',
      gateway_reference: outcome.reference,
      failure_code: outcome.kind === 'rejected' ? outcome.failureCode : null,
      decided_at: decidedAt,
    },
  };
}
