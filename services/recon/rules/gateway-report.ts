import type { Knex } from '../../../runtime/db/knex';
import { intList } from '../../../runtime/db/int-list';
import type { SettlementReportItem } from '../../../runtime/gateway/gateway-wire';
import { formatMoneyText } from '../../../runtime/money/money-text';
import { capped, existingTables, idFloorAt, idsFromEntities, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 5 (docs/DESIGN.md, lesson 6): what we think we paid is what the gateway says it executed.
 * Every PAID payout minted in the recent window (PK range over ix_payout_status_id) must appear in
 * the gateway's settlement report as EXECUTED with the same seller, amount, currency and payee
 * account (the one frozen in payout_submission, else the seller id); every execution in the report
 * must map to a payout (its Idempotency-Key is the payout id) whose state agrees with it.
 *
 * The report is read from the earliest decided_at of those payouts (less an hour for clock skew),
 * so it covers all of them; it is streamed a page at a time, and each page's payouts are fetched
 * by primary key. A PAID payout the report does not show is looked up by key, to tell "never
 * executed" from "executed before the report starts".
 */
export const RULE = 'gateway-report';

const SKEW_MS = 3_600_000;
const MAX_LOOKUPS = 200;

interface PayoutRow {
  id: string;
  region: string;
  cycle_id: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
  rail: string;
  gateway_reference: string | null;
  decided_at: Date | null;
  account: string | null;
}

export const gatewayReport: ReconRule = {
  name: RULE,
  description:
    "PAID payouts match the gateway's settlement report (amount, currency, account), and every execution maps to a payout",
  async check(ctx) {
    const payouts = await payoutReader(ctx.db);
    const floor = idFloorAt(new Date(ctx.now.getTime() - ctx.options.recentWindowMs));
    const reopen = idsFromEntities(ctx.open.keys(), 'payout/');
    const paid = new Map<string, PayoutRow>();
    for (const p of await payouts.where(`p.status = 'PAID' AND p.rail = 'gateway' AND p.id >= ${floor}`))
      paid.set(p.id, p);
    if (reopen.length > 0)
      for (const p of await payouts.where(`p.id IN (${intList(reopen)})`)) paid.set(p.id, p);

    let since = ctx.now.getTime() - ctx.options.recentWindowMs;
    for (const p of paid.values())
      if (p.decided_at) since = Math.min(since, new Date(p.decided_at).getTime());
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for await (const page of ctx.gateway.pages(new Date(since - SKEW_MS))) {
      const ids = page
        .map((e) => e.key)
        .filter((k) => /^\d{1,19}$/.test(k) && !paid.has(k))
        .map(BigInt);
      const others = new Map<string, PayoutRow>();
      if (ids.length > 0)
        for (const p of await payouts.where(`p.id IN (${intList(ids)})`)) others.set(p.id, p);
      for (const exec of page) {
        // Only keys someone asks about later are remembered, so a long report costs no memory.
        if (paid.has(exec.key) || ctx.open.has(`gateway/${exec.key}`)) seen.add(exec.key);
        const payout = paid.get(exec.key) ?? others.get(exec.key);
        const finding = payout ? compare(payout, exec) : unmapped(exec);
        if (finding) findings.push(finding);
      }
    }

    const missing = [...paid.values()].filter((p) => !seen.has(p.id) && p.status === 'PAID');
    for (const p of missing.slice(0, MAX_LOOKUPS)) {
      const found = await ctx.gateway.lookup(p.id);
      if (!found)
        findings.push(
          problem(p, `payout ${p.id} is PAID but the gateway never executed key ${p.id}`),
        );
      else if (found.status !== 'EXECUTED')
        findings.push(
          problem(
            p,
            `payout ${p.id} is PAID but the gateway ${found.status} key ${p.id} (${found.failure_code ?? 'no code'})`,
          ),
        );
    }
    // An unmapped execution that fell out of the report range is re-checked by key, so it stays open.
    for (const [entity, stored] of ctx.open) {
      const key = entity.startsWith('gateway/') ? entity.slice('gateway/'.length) : undefined;
      if (!key || seen.has(key)) continue;
      const still = /^\d{1,19}$/.test(key)
        ? (await payouts.where(`p.id IN (${intList([BigInt(key)])})`)).length === 0
        : true;
      if (still && (await ctx.gateway.lookup(key)))
        findings.push({ rule: RULE, severity: stored.severity, entity, detail: stored.detail });
    }
    return capped(findings, ctx.options.maxFindingsPerCheck, RULE, 'gateway', 'CRITICAL');
  },
};

/** Differences between a payout and the gateway's line for its key; undefined when they agree. */
function compare(p: PayoutRow, e: SettlementReportItem): Finding | undefined {
  const diffs: string[] = [];
  if (e.shop_user_id !== p.shop_user_id)
    diffs.push(`seller ${e.shop_user_id} (payout: ${p.shop_user_id})`);
  if (e.currency !== p.currency) diffs.push(`currency ${e.currency} (payout: ${p.currency})`);
  if (e.amount_minor !== p.amount_minor)
    diffs.push(`amount ${formatMoneyText(e.amount_minor, e.currency)} (payout: ${formatMoneyText(p.amount_minor, p.currency)})`);
  // The gateway must never execute a payout of the bank-file rail: it would be paid twice.
  if (p.rail !== 'gateway') diffs.push(`rail ${p.rail}: the gateway executed a payout the bank pays`);
  const account = p.account ?? p.shop_user_id;
  if (e.account !== account) diffs.push(`account ${e.account} (payout: ${account})`);
  const final = p.status === 'PAID' || p.status === 'FAILED';
  if (final && p.gateway_reference && p.gateway_reference !== e.reference)
    diffs.push(`reference ${e.reference} (payout: ${p.gateway_reference})`);
  // SUBMITTED is in flight: the gateway may answer before payment-notify records it.
  const agrees =
    p.status === 'SUBMITTED' ||
    (e.status === 'EXECUTED' ? p.status === 'PAID' : p.status === 'FAILED');
  if (!agrees) diffs.push(`status ${e.status} (payout: ${p.status})`);
  if (diffs.length === 0) return undefined;
  return problem(p, `the gateway's line for payout ${p.id} differs: ${diffs.join(', ')}`);
}

function unmapped(e: SettlementReportItem): Finding {
  return {
    rule: RULE,
    // A rejected instruction moved no money; an executed one paid someone we have no payout for.
    severity: e.status === 'EXECUTED' ? 'CRITICAL' : 'WARNING',
    entity: `gateway/${e.key}`,
    detail: `the gateway ${e.status} key ${e.key} (seller ${e.shop_user_id}, ${formatMoneyText(e.amount_minor, e.currency)}, account ${e.account}, ref ${e.reference}) but no payout has that id`,
  };
}

const problem = (p: PayoutRow, detail: string): Finding => ({
  rule: RULE,
  severity: 'CRITICAL',
  entity: `${p.region}/${p.cycle_id}/payout/${p.id}`,
  detail,
});

/** Payout rows with the payee account the gateway was sent, when payment-notify's table exists. */
async function payoutReader(db: Knex) {
  const withAccount = (await existingTables(db, ['payout_submission'])).has('payout_submission');
  const select = `SELECT CAST(p.id AS CHAR) AS id, p.region, CAST(p.cycle_id AS CHAR) AS cycle_id, CAST(p.shop_user_id AS CHAR) AS shop_user_id,
                         p.currency, CAST(p.amount_minor AS CHAR) AS amount_minor, p.status, p.rail, p.gateway_reference, p.decided_at,
                         ${withAccount ? 's.payee_account' : 'NULL'} AS account
                    FROM payout p ${withAccount ? 'LEFT JOIN payout_submission s ON s.payout_id = p.id' : ''}`;
  return {
    /** `where` holds only integer literals built here (intList, a bigint floor), never input. */
    where: (where: string) => rows<PayoutRow>(db, `${select} WHERE ${where}`),
  };
}
