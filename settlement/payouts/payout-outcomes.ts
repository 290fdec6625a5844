import type { Knex } from '../../runtime/db/knex';
import { intList } from '../../runtime/db/int-list';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { outboxTopic, type OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { returnPayouts } from '../../runtime/payment-ledger/payout-return';
import { tccResolve } from '../../runtime/payment-ledger/tcc-ledger';
import { PAYOUT_RESULTS, payoutResultMessage, type PayoutResult } from '../../contracts/payout-result';

/**
 * The final state of submitted payouts, whichever rail answered (the gateway's response, the
 * bank's status report), written the same way in the caller's transaction:
 *   - PAID: CONFIRM in the payment ledger (in flight -> bank clearing), the payout PAID with the
 *     rail's reference;
 *   - FAILED: CANCEL (in flight -> settlement), the payout FAILED with the rail's reason, and the
 *     amount back in the seller's balance in the open cycle, once (payout-return.ts);
 *   - either way the result event on `sts.payout-results.v1`, through the outbox.
 * The caller has locked the payout rows and passes only SUBMITTED ones, so each is written once
 * however many answers arrive; tccResolve refuses a CONFIRM after a CANCEL and the reverse.
 */
export interface PayoutOutcome {
  payout: { payoutId: bigint; shopUserId: bigint; region: string; currency: string; amountMinor: bigint; cycleId: bigint };
  status: 'PAID' | 'FAILED';
  /** The rail's reference: the gateway's, or the bank's report. */
  reference: string | null;
  /** Why it failed, as the rail said it (INVALID_ACCOUNT, AC04, ...); null when PAID. */
  failureCode: string | null;
  /** Who said so, for the returned item's memo: "the gateway", "the bank". */
  by: string;
}

export interface OutcomeDeps {
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  /** Default sts.payout-results.v1. */
  resultsTopic?: string;
}

export async function recordPayoutOutcomes(trx: Knex.Transaction, deps: OutcomeDeps, outcomes: PayoutOutcome[], decidedAt: Date): Promise<void> {
  if (outcomes.length === 0) return;
  for (const status of ['PAID', 'FAILED'] as const) {
    const group = outcomes.filter((o) => o.status === status);
    if (group.length === 0) continue;
    const list = intList(group.map((o) => o.payout.payoutId));
    const whenId = group.map((o) => `WHEN ${o.payout.payoutId.toString()} THEN ?`).join(' ');
    await trx.raw(
      `UPDATE payout SET status = ?, gateway_reference = CASE id ${whenId} END,
              failure_code = CASE id ${whenId} END, decided_at = ?, updated_at = NOW(3)
        WHERE id IN (${list}) AND status = 'SUBMITTED'`,
      [status, ...group.map((o) => o.reference), ...group.map((o) => o.failureCode), decidedAt],
    );
  }
  const to = deps.resultsTopic === undefined ? PAYOUT_RESULTS : outboxTopic<PayoutResult>(deps.resultsTopic);
  await deps.outbox.add(
    trx,
    to,
    outcomes.map((o) => payoutResultMessage(o.payout, o, decidedAt)),
  );
  // The ledger rows are the hottest locks, held from here until COMMIT.
  await tccResolve(
    trx,
    outcomes.map((o) => ({ txId: o.payout.payoutId, resolution: o.status === 'PAID' ? 'CONFIRM' : 'CANCEL' })),
  );
  await returnPayouts(
    trx,
    deps.ids,
    outcomes.flatMap((o) => (o.status === 'FAILED' ? [{ ...o.payout, cancelledInLedger: true, why: `refused by ${o.by} (${o.failureCode})` }] : [])),
    decidedAt,
  );
}
