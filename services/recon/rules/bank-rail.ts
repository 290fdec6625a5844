import { formatMoneyText } from '../../../runtime/money/money-text';
import { capped, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * The bank-file rail, by results:
 *   - every debit the bank booked (camt.054, bank_debit) matches a PAID bank-file payout of the
 *     same amount and currency: a debit for a FAILED payout, for another amount or for no payout
 *     at all is money that left without the ledger saying so;
 *   - no payout executed on both rails: a bank-file payout that payment-notify submitted to the
 *     gateway, or a gateway payout in a bank file or debited by the bank;
 *   - what a bank report said that changed nothing because it could not be right (an unknown
 *     EndToEndId, another amount, a status contradicting the payout's, a report for a file never
 *     sent) is reported for a person to take up with the bank.
 * A bank-file payout SUBMITTED past its SLA without a status is reported by payout-sla.
 * Reads the reports and debits of the recent window (options.recentWindowMs) through their keys.
 */
export const RULE = 'bank-rail';

const ISSUE_SEVERITY: Record<string, Finding['severity']> = {
  UNKNOWN_END_TO_END_ID: 'CRITICAL',
  AMOUNT_MISMATCH: 'CRITICAL',
  STATUS_CONFLICT: 'CRITICAL',
  UNKNOWN_FILE: 'WARNING',
  DUPLICATE_FILE: 'INFO',
};

export const bankRail: ReconRule = {
  name: RULE,
  description: 'bank debits match PAID bank-file payouts, no payout travels both rails, and bank reports held nothing contradictory',
  async check(ctx) {
    const since = new Date(ctx.now.getTime() - ctx.options.recentWindowMs);
    const limit = ctx.options.maxFindingsPerCheck;
    const findings: Finding[] = [];

    const debits = await rows<{ report: string; e2e: string; amount: string; currency: string; payout: string | null; status: string | null; rail: string | null; payout_amount: string | null; payout_currency: string | null }>(
      ctx.db,
      `SELECT d.report_msg_id AS report, d.end_to_end_id AS e2e, CAST(d.amount_minor AS CHAR) AS amount, d.currency,
              CAST(p.id AS CHAR) AS payout, p.status, p.rail, CAST(p.amount_minor AS CHAR) AS payout_amount, p.currency AS payout_currency
         FROM bank_report r JOIN bank_debit d ON d.report_msg_id = r.msg_id
         LEFT JOIN payout p ON p.id = CASE WHEN d.end_to_end_id REGEXP '^[0-9]{1,18}$' THEN CAST(d.end_to_end_id AS UNSIGNED) END
        WHERE r.kind = 'camt.054' AND r.applied_at >= ?
          AND (p.id IS NULL OR p.status <> 'PAID' OR p.rail <> 'bank-file' OR p.amount_minor <> d.amount_minor OR p.currency <> d.currency)
        LIMIT ?`,
      [since, limit + 1],
    );
    for (const d of debits)
      findings.push({
        rule: RULE,
        severity: 'CRITICAL',
        entity: `bank/debit/${d.e2e}`,
        detail: d.payout === null
          ? `the bank debited ${formatMoneyText(d.amount, d.currency)} for ${d.e2e} (report ${d.report}), which is no payout`
          : `the bank debited ${formatMoneyText(d.amount, d.currency)} for payout ${d.payout} (report ${d.report}), which is ${d.status} on the ${d.rail} rail for ${formatMoneyText(d.payout_amount ?? '0', d.payout_currency ?? d.currency)}`,
      });

    const both = await rows<{ id: string; rail: string; why: string }>(
      ctx.db,
      `SELECT CAST(p.id AS CHAR) AS id, p.rail, 'submitted to the gateway' AS why
         FROM payout p JOIN payout_submission s ON s.payout_id = p.id WHERE p.rail <> 'gateway'
       UNION ALL
       SELECT CAST(id AS CHAR), rail, CONCAT('in bank file ', bank_msg_id) FROM payout WHERE rail <> 'bank-file' AND bank_msg_id IS NOT NULL
       LIMIT ?`,
      [limit + 1],
    );
    for (const b of both)
      findings.push({ rule: RULE, severity: 'CRITICAL', entity: `bank/both-rails/${b.id}`, detail: `payout ${b.id} of the ${b.rail} rail was ${b.why}: it may be paid twice; check both the gateway and the bank before anything else` });

    const issues = await rows<{ id: string; report: string; e2e: string | null; kind: string; detail: string }>(
      ctx.db,
      'SELECT CAST(id AS CHAR) AS id, report_msg_id AS report, end_to_end_id AS e2e, kind, detail FROM bank_report_issue WHERE created_at >= ? ORDER BY id LIMIT ?',
      [since, limit + 1],
    );
    for (const i of issues)
      findings.push({ rule: RULE, severity: ISSUE_SEVERITY[i.kind] ?? 'WARNING', entity: `bank/report/${i.report}/${i.kind}/${i.e2e ?? '-'}`, detail: `bank report ${i.report}: ${i.detail}` });
    return capped(findings, limit, RULE, 'bank', 'CRITICAL');
  },
};
