import { formatMoneyText } from '../../../runtime/money/money-text';
import { capped, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 4 (docs/DESIGN.md, lesson 6): every payout reaches a final state (PAID or FAILED) within its
 * SLA, `payoutSlaMs` after created_at (STS_PAYOUT_SLA_MS, default 24 h). The compensator exists to
 * make that true; a payout past the SLA means it did not, and a seller is waiting for money.
 *
 * PENDING (never sent) and SUBMITTED (sent, outcome unknown) are the states that must move on.
 * ON_HOLD waits for a human on purpose and CARRIED_FORWARD is settled by the next cycle, so
 * neither is late.
 *
 * Query: a range over ix_payout_status_id for the two states (the in-flight set, small by
 * design), filtered by created_at.
 */
export const RULE = 'payout-sla';

export const LATE_PAYOUTS_SQL = `
SELECT CAST(id AS CHAR) AS id, region, CAST(cycle_id AS CHAR) AS cycle_id, CAST(shop_user_id AS CHAR) AS shop_user_id,
       currency, CAST(amount_minor AS CHAR) AS amount_minor, status, rail, bank_msg_id, attempts, created_at
  FROM payout WHERE status IN ('PENDING', 'SUBMITTED') AND created_at < ? ORDER BY id LIMIT ?`;

export const payoutSla: ReconRule = {
  name: RULE,
  description:
    'no PENDING or SUBMITTED payout older than STS_PAYOUT_SLA_MS without a final state (PAID/FAILED)',
  async check(ctx) {
    const limit = ctx.options.maxFindingsPerCheck;
    const deadline = new Date(ctx.now.getTime() - ctx.options.payoutSlaMs);
    const late = await rows<{
      id: string;
      region: string;
      cycle_id: string;
      shop_user_id: string;
      currency: string;
      amount_minor: string;
      status: string;
      rail: string;
      bank_msg_id: string | null;
      attempts: number;
      created_at: Date;
    }>(ctx.db, LATE_PAYOUTS_SQL, [deadline, limit + 1]);
    const advice = (p: { status: string; rail: string; bank_msg_id: string | null }) =>
      p.rail === 'bank-file'
        ? p.status === 'SUBMITTED'
          ? `; the bank sent no final status for file ${p.bank_msg_id}: ask the bank about it before anything else`
          : '; it was never sent: is `sts run all` running the bank rail (`sts bank send`)?'
        : p.status === 'SUBMITTED'
          ? '; look it up at the gateway by its id before anything else'
          : '; it was never sent: check payment-notify and the payouts topic';
    const hours = (ms: number) => (ms / 3_600_000).toFixed(1);
    const found = late.map((p): Finding => ({
      rule: RULE,
      severity: 'CRITICAL',
      entity: `${p.region}/${p.cycle_id}/payout/${p.id}`,
      detail: `payout ${p.id} to seller ${p.shop_user_id} (${formatMoneyText(p.amount_minor, p.currency)}) is still ${p.status} after ${hours(ctx.now.getTime() - new Date(p.created_at).getTime())} h (${p.attempts} attempts; SLA ${hours(ctx.options.payoutSlaMs)} h)${advice(p)}`,
    }));
    return capped(found, limit, RULE, 'payout', 'CRITICAL');
  },
};
