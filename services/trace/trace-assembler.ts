import type { Knex } from '../../runtime/db/knex';
import { STEP_TITLES, TRACE_DEFAULTS, TRACE_STEPS, type TraceEntry, type TraceOptions, type TraceQuery, type TraceResult, type TraceStepName } from './trace-types';
import { resolveScope } from './trace-scope';
import { intakeEntries, itemEntry, itemsOfAccount, uploadsOf, type ItemRow } from './item-reader';
import { commissionOf } from './commission-reader';
import { accountEntry, carryOut, payoutEntry, sellerHold } from './close-reader';
import { paymentOf } from './payment-reader';
import { oversightOf } from './oversight-reader';
import { big } from './trace-sql';

/**
 * `sts trace` and GET /trace/...: resolves the query to its accounts and payouts, reads each step
 * by indexed keys only (test/services/trace/trace-explain.test.ts holds every statement to it),
 * and lays the entries out oldest first within each step. Read-only; no locks, so a trace of a
 * payout being paid shows the state of the moment, step by step.
 */
export async function traceOf(db: Knex, q: TraceQuery, opts: Partial<TraceOptions> = {}): Promise<TraceResult> {
  const { itemLimit } = { ...TRACE_DEFAULTS, ...opts };
  const scope = await resolveScope(db, q, itemLimit);

  let items: ItemRow[] = scope.orderItems ?? [];
  if (!scope.orderItems) for (const a of scope.accounts) items.push(...(await itemsOfAccount(db, a, itemLimit)));
  const truncated = items.length > itemLimit;
  if (truncated) items = items.slice(0, itemLimit);

  const steps: Record<TraceStepName, TraceEntry[]> = { intake: [], booked: [], close: [], payment: [], oversight: [] };
  steps.intake.push(...intakeEntries(items, await uploadsOf(db, items)));

  steps.booked.push(...items.map(itemEntry));
  const ordersByRegion = new Map<string, Set<bigint>>();
  for (const i of items) {
    if (i.order_id === null || (i.source !== 'ORDER' && i.source !== 'COMMISSION')) continue;
    const set = ordersByRegion.get(i.region) ?? new Set<bigint>();
    set.add(big(i.order_id));
    ordersByRegion.set(i.region, set);
  }
  for (const [region, orders] of ordersByRegion) steps.booked.push(...(await commissionOf(db, region, [...orders])));

  for (const a of scope.accounts) {
    const account = await accountEntry(db, a);
    if (account) steps.close.push(account);
    const carried = await carryOut(db, a);
    if (carried) steps.close.push(carried);
  }
  steps.close.push(...scope.payouts.map(payoutEntry));
  const sellers = new Map(scope.accounts.map((a) => [`${a.region}/${a.shopUserId}`, a]));
  for (const a of sellers.values()) {
    const hold = await sellerHold(db, a.region, a.shopUserId);
    if (hold) steps.close.push(hold);
  }

  for (const p of scope.payouts) steps.payment.push(...(await paymentOf(db, p)));

  const issueEntities = steps.payment.flatMap((e) => (e.kind === 'BANK_REPORT_ISSUE' ? [`bank/report/${e.reportMsgId}/${e.issueKind}/${e.endToEndId ?? '-'}`] : []));
  steps.oversight.push(
    ...(await oversightOf(db, {
      accounts: scope.accounts,
      payouts: scope.payouts.map((p) => ({ id: big(p.id), region: p.region, cycleId: big(p.cycle_id) })),
      orders: [...ordersByRegion].flatMap(([region, ids]) => [...ids].map((orderId) => ({ region, orderId }))),
      uploadIds: [...new Set(items.flatMap((i) => (i.upload_id === null ? [] : [i.upload_id])))].map(big),
      extraEntities: issueEntities,
    })),
  );

  return {
    subject: scope.subject,
    steps: TRACE_STEPS.map((step) => ({ step, title: STEP_TITLES[step], entries: oldestFirst(steps[step]) })),
    truncated,
  };
}

/** Stable: entries of the same instant keep the order they were read in (items by id). */
function oldestFirst(entries: TraceEntry[]): TraceEntry[] {
  return entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.at.getTime() - b.e.at.getTime() || a.i - b.i).map((x) => x.e);
}
