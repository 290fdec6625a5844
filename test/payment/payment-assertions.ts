import type { Knex } from '../../runtime/db/knex';
import type { SettlementReportPage } from '../../runtime/gateway/gateway-wire';
import { ledgerProblems } from '../../runtime/money-ledger/ledger-balances';
import type { PaymentWorld } from './payment-harness';

/**
 * What a payment test checks at the end, by results rather than by code paths (lesson 10): the
 * payout rows, the simulator's counters and settlement report, the outbox and the ledger.
 */

export async function statusCounts(db: Knex): Promise<Record<string, number>> {
  const rows = (await db('payout').select('status').count({ n: '*' }).groupBy('status')) as Array<{
    status: string;
    n: number | string;
  }>;
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

export interface SimCounters {
  requests: number;
  executions: number;
  executed: number;
  rejected: number;
  refusedDuplicates: number;
  lookups: number;
  lookupMisses: number;
  transientErrors: number;
  timeoutsAfterExecute: number;
  outageRefusals: number;
  connections: number;
  maxExecutionsPerKey: number;
}

export async function simStats(simUrl: string): Promise<SimCounters> {
  const res = await fetch(`${simUrl}/_sim/stats`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as SimCounters;
}

/** Every record of the gateway's settlement report, by key (retries the faults it may inject). */
export async function gatewayReport(
  simUrl: string,
): Promise<Map<string, { status: string; reference: string }>> {
  const out = new Map<string, { status: string; reference: string }>();
  let cursor = '';
  for (;;) {
    const res = await fetch(`${simUrl}/v1/payouts?limit=1000&cursor=${cursor}`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 503) {
      await new Promise((ok) => setTimeout(ok, 100));
      continue;
    }
    const page = (await res.json()) as SettlementReportPage;
    for (const item of page.items) {
      if (out.has(item.key)) throw new Error(`the gateway executed key ${item.key} twice`);
      out.set(item.key, { status: item.status, reference: item.reference });
    }
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
}

/**
 * The end-state proof, by results (lesson 10): every payout given is PAID or FAILED, each
 * executed at the gateway exactly once under its own key with the reference we recorded, nothing
 * else executed, one result event per final payout, the ledger balanced and nothing in flight.
 */
export async function expectPaidExactlyOnce(
  w: PaymentWorld,
  payoutIds: bigint[],
  resultsTopic = w.resultsTopic,
): Promise<{ paid: number; failed: number }> {
  const report = await gatewayReport(w.simUrl);
  const rows = (await w
    .db('payout')
    .select(w.db.raw('CAST(id AS CHAR) AS id'), 'status', 'gateway_reference')
    .whereIn('status', ['PAID', 'FAILED', 'SUBMITTED', 'PENDING'])) as Array<{
    id: string;
    status: string;
    gateway_reference: string | null;
  }>;
  const byId = new Map(rows.map((row) => [row.id, row]));
  let paid = 0;
  let failed = 0;
  const wrong: string[] = [];
  for (const id of payoutIds) {
    const row = byId.get(id.toString());
    const executed = report.get(id.toString());
    const want = executed?.status === 'REJECTED' ? 'FAILED' : 'PAID';
    if (!executed || row?.status !== want || row.gateway_reference !== executed.reference)
      wrong.push(
        `${id}: ${row?.status} ${row?.gateway_reference} vs gateway ${executed?.status} ${executed?.reference}`,
      );
    else if (want === 'PAID') paid++;
    else failed++;
  }
  expect(wrong.slice(0, 20)).toEqual([]);
  expect(report.size).toBe(payoutIds.length);
  expect((await simStats(w.simUrl)).maxExecutionsPerKey).toBeLessThanOrEqual(1);
  const [results] = (await w
    .db('outbox')
    .where({ topic: resultsTopic })
    .count({ n: '*' })) as Array<{ n: number | string }>;
  expect(Number(results!.n)).toBe(paid + failed);
  expect(await ledgerProblems(w.db)).toEqual([]);
  return { paid, failed };
}
