import type { Kafka } from 'kafkajs';
import type { Knex } from '../../runtime/db/knex';
import { ledgerProblems } from '../../runtime/payment-ledger/ledger-balances';
import { formatMinorAmount } from '../../runtime/money/decimal-amount';
import { formatMoney, formatMoneyText } from '../../runtime/money/money-text';
import { regionInfo } from '../../runtime/money/regions';
import { currencyExponent } from '../../settlement/payout-file/pain001-writer';
import { dlqTopic } from '../../runtime/topology/types';
import type { SettlementReportItem } from '../../runtime/gateway/gateway-wire';
import { GatewayReportReader } from '../../services/recon/gateway-report-reader';
import type { ReconRunResult } from '../../services/recon/recon-runner';
import type { ExpectedSettlement } from './expected-settlement';
import type { DemoUploadExpectation } from '../demo/demo-upload';
import type { OrderEvent } from '../../contracts/order-event';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import { acknowledgedMissing, reorderedKeys } from './order-topic-checks';

/**
 * The verdict of a chaos run, by results and never by code paths: what the database, the gateway's
 * own settlement report and the topics hold once everything is quiet, against what the inputs
 * say they must hold. Each check returns ok plus a detail line; a failing one names the first
 * offenders, so a report is enough to start digging.
 */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ClosedCycle {
  region: string;
  cycleId: bigint;
  expected: ExpectedSettlement;
}

export interface ChaosExpectations {
  cycles: ClosedCycle[];
  /** SG rows of the upload, booked into the cycle open while it ran. */
  upload: DemoUploadExpectation & { uploadId: bigint; cycleId: bigint };
  /** Pipeline topics whose dead-letter topic must stay empty. */
  topics: string[];
}

type Row = Record<string, string | number | null>;
const big = (v: string | number | null | undefined) => BigInt(v ?? 0);
/** A region's amount as a person reads it in the report: "SGD 2,353.79". */
const moneyIn = (region: string, minor: bigint | undefined) => (minor === undefined ? 'nothing' : formatMoney(minor, regionInfo(region)?.currency ?? region));

export interface ChaosCheckDeps {
  db: Knex;
  kafka: Kafka;
  gatewayUrl: string;
  bankUrl: string;
  recon: () => Promise<ReconRunResult>;
  /** The order events as published, in order (every send acknowledged): checked on the topic itself. */
  orders?: { topic: string; published: OrderEvent[]; codec: AvroCodec };
}

export async function runChaosChecks(deps: ChaosCheckDeps, exp: ChaosExpectations): Promise<CheckResult[]> {
  const { db } = deps;
  const results: CheckResult[] = [];
  const check = (name: string, problems: string[], okDetail: string) =>
    results.push({ name, ok: problems.length === 0, detail: problems.length === 0 ? okDetail : `${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}` });

  // 1. Every seller's items in each closed cycle equal the independent computation, and its payout.
  for (const c of exp.cycles) {
    const items = await sumsBySeller(db, c.region, c.cycleId);
    const payouts = (await db('payout').select(db.raw('CAST(shop_user_id AS CHAR) AS seller'), db.raw('CAST(amount_minor AS CHAR) AS amount'), 'status').where({ region: c.region, cycle_id: c.cycleId.toString() })) as Row[];
    const problems: string[] = [];
    for (const [seller, want] of c.expected.net) {
      const got = items.get(seller) ?? 0n;
      if (got !== want) problems.push(`${c.region} seller ${seller}: items ${moneyIn(c.region, got)}, expected ${moneyIn(c.region, want)}`);
    }
    for (const seller of items.keys()) if (!c.expected.net.has(seller)) problems.push(`${c.region} seller ${seller} has items but no orders`);
    check(`${c.region} cycle ${c.cycleId}: every seller's items equal the order events`, problems, `${c.expected.net.size} sellers exact`);

    const payoutProblems: string[] = [];
    const bySeller = new Map(payouts.map((p) => [big(p.seller), big(p.amount)]));
    for (const [seller, want] of c.expected.net) if (bySeller.get(seller) !== want) payoutProblems.push(`${c.region} seller ${seller}: payout ${moneyIn(c.region, bySeller.get(seller))}, expected ${moneyIn(c.region, want)}`);
    if (payouts.length !== c.expected.net.size) payoutProblems.push(`${payouts.length} payouts for ${c.expected.net.size} sellers`);
    check(`${c.region} cycle ${c.cycleId}: one payout per seller, equal to its items`, payoutProblems, `${payouts.length} payouts, sum ${moneyIn(c.region, sum(bySeller.values()))}`);

    const orderItems = await count(db('billing_item').where({ region: c.region, source: 'ORDER' }));
    const fees = await count(db('billing_item').where({ region: c.region, source: 'COMMISSION', item_type: 'COMMISSION_FEE' }));
    const dup: string[] = [];
    if (orderItems !== c.expected.events) dup.push(`${orderItems} ORDER items for ${c.expected.events} distinct events`);
    if (fees !== c.expected.completed) dup.push(`${fees} COMMISSION_FEE items for ${c.expected.completed} completed orders`);
    check(`${c.region}: no billing item twice (re-sent and redelivered events included)`, dup, `${orderItems} order items, ${fees} commission fees`);
  }

  // 2. The upload: exact counts and exact sums per seller in the cycle it was booked into.
  {
    const u = exp.upload;
    const row = (await db('upload').where({ id: u.uploadId.toString() }).first()) as Row | undefined;
    const problems: string[] = [];
    const accepted = Number(row?.accepted_rows ?? -1);
    const rejected = Number(row?.rejected_rows ?? -1);
    const duplicates = Number(row?.duplicate_rows ?? -1);
    if (row?.status !== 'COMPLETED') problems.push(`upload ${u.uploadId} is ${row?.status}`);
    if (accepted !== u.accepted || rejected !== u.rejected || duplicates !== 0) problems.push(`accepted ${accepted}/${u.accepted}, rejected ${rejected}/${u.rejected}, duplicates ${duplicates}/0`);
    const uploadItems = await count(db('billing_item').where({ region: 'SG', source: 'UPLOAD' }));
    if (uploadItems !== u.accepted) problems.push(`${uploadItems} UPLOAD items for ${u.accepted} accepted rows`);
    const sums = await sumsBySeller(db, 'SG', u.cycleId, 'UPLOAD');
    for (const [seller, want] of u.sumBySeller) if ((sums.get(seller) ?? 0n) !== want) problems.push(`seller ${seller}: uploaded ${moneyIn('SG', sums.get(seller) ?? 0n)}, expected ${moneyIn('SG', want)}`);
    check(`upload ${u.uploadId}: accepted + rejected = ${u.rows}, sums exact per seller`, problems, `${accepted} accepted, ${rejected} rejected, ${uploadItems} items`);
  }

  // 3. What a close carried forward reappears, exactly, in the next cycle.
  {
    const carried = (await db('payout').select('region', db.raw('CAST(shop_user_id AS CHAR) AS seller'), db.raw('CAST(amount_minor AS CHAR) AS amount')).where({ status: 'CARRIED_FORWARD' }).whereNot('amount_minor', 0)) as Row[];
    const items = (await db('billing_item').select('region', db.raw('CAST(shop_user_id AS CHAR) AS seller')).sum({ s: 'amount_minor' }).where({ source: 'CARRY_FORWARD' }).groupBy('region', 'shop_user_id')) as Row[];
    const got = new Map(items.map((i) => [`${i.region}/${i.seller}`, big(i.s)]));
    const problems = carried.filter((c) => got.get(`${c.region}/${c.seller}`) !== big(c.amount)).map((c) => `${c.region} seller ${c.seller}: carried ${moneyIn(String(c.region), big(c.amount))}, next cycle got ${moneyIn(String(c.region), got.get(`${c.region}/${c.seller}`))}`);
    if (items.length !== carried.length) problems.push(`${items.length} sellers with carry-forward items, ${carried.length} carried payouts`);
    check('carry-forward items equal the carried payouts', problems, `${carried.length} carried`);
  }

  // 4. Payouts are final; each rail's own record (the gateway's settlement report, the bank's
  //    journal of executions) agrees with each payout, and no payout went out on both.
  {
    const payouts = (await db('payout').select(db.raw('CAST(id AS CHAR) AS id'), db.raw('CAST(amount_minor AS CHAR) AS amount'), 'currency', 'status', 'rail', 'gateway_reference')) as Row[];
    const notFinal = payouts.filter((p) => p.status === 'PENDING' || p.status === 'SUBMITTED');
    const byStatus = payouts.reduce<Record<string, number>>((acc, p) => ((acc[`${p.rail} ${p.status}`] = (acc[`${p.rail} ${p.status}`] ?? 0) + 1), acc), {});
    check('every payout is final', notFinal.map((p) => `payout ${p.id} is ${p.status}`), JSON.stringify(byStatus));

    const reader = new GatewayReportReader(deps.gatewayUrl);
    const executed = new Map<string, SettlementReportItem>();
    const twice: string[] = [];
    try {
      for await (const page of reader.pages(new Date(0))) {
        for (const item of page) {
          if (executed.has(item.key)) twice.push(`key ${item.key} executed twice at the gateway`);
          executed.set(item.key, item);
        }
      }
    } finally {
      reader.close();
    }
    const stats = (await (await fetch(`${deps.gatewayUrl}/_sim/stats`, { signal: AbortSignal.timeout(10_000) })).json()) as { maxExecutionsPerKey: number; executions: number };
    if (stats.maxExecutionsPerKey > 1) twice.push(`the gateway's journal holds a key ${stats.maxExecutionsPerKey} times`);
    const bank = (await (await fetch(`${deps.bankUrl}/_sim/executions?limit=100000000`, { signal: AbortSignal.timeout(30_000) })).json()) as { executions: Array<{ endToEndId: string; amount: string; currency: string }> };
    const atBank = new Map<string, { amount: string; currency: string }>();
    for (const e of bank.executions) {
      if (atBank.has(e.endToEndId)) twice.push(`EndToEndId ${e.endToEndId} executed twice at the bank`);
      if (executed.get(e.endToEndId)?.status === 'EXECUTED') twice.push(`payout ${e.endToEndId} executed at the gateway and at the bank`);
      atBank.set(e.endToEndId, e);
    }
    check('each payout executed at most once, on one rail', twice, `${executed.size} gateway executions, ${atBank.size} bank executions, none twice, none on both`);

    const ids = new Set(payouts.map((p) => String(p.id)));
    const wrong: string[] = [];
    for (const p of payouts) {
      const id = String(p.id);
      const e = executed.get(id);
      const b = atBank.get(id);
      if (p.rail === 'gateway') {
        if (p.status === 'PAID' && (e?.status !== 'EXECUTED' || e.reference !== p.gateway_reference || e.amount_minor !== p.amount)) wrong.push(`PAID payout ${id}: gateway ${e?.status ?? 'never executed'} ${e?.reference ?? ''} ${e ? formatMoneyText(e.amount_minor, e.currency) : ''}`);
        if (p.status !== 'PAID' && e?.status === 'EXECUTED') wrong.push(`${p.status} payout ${id} was executed at the gateway`);
        if (b) wrong.push(`gateway payout ${id} was executed at the bank`);
      } else {
        const exponent = currencyExponent(String(p.currency)) ?? 2;
        if (p.status === 'PAID' && (!b || b.amount !== formatMinorAmount(big(p.amount), exponent) || b.currency !== p.currency)) wrong.push(`PAID payout ${id}: the bank ${b ? `executed ${b.amount} ${b.currency}` : 'never executed it'}`);
        if (p.status !== 'PAID' && b) wrong.push(`${p.status} payout ${id} was executed at the bank`);
        if (e) wrong.push(`bank-file payout ${id} reached the gateway`);
      }
    }
    for (const key of executed.keys()) if (!ids.has(key)) wrong.push(`gateway executed ${key}, which is no payout`);
    for (const key of atBank.keys()) if (!ids.has(key)) wrong.push(`the bank executed ${key}, which is no payout`);
    check('every PAID payout executed exactly once on its own rail, with its amount', wrong, `${Object.entries(byStatus).filter(([k]) => k.endsWith('PAID')).map(([k, n]) => `${n} ${k}`).join(', ')}`);

    // A refused payout's amount is back in its seller's balance exactly once, and only a refused one's.
    const failed = new Map(payouts.filter((p) => p.status === 'FAILED' || p.status === 'CANCELLED').map((p) => [String(p.id), big(p.amount)]));
    const currencyOf = new Map(payouts.map((p) => [String(p.id), String(p.currency)]));
    const returned = (await db('billing_item').where({ source: 'PAYOUT_RETURN' }).select('source_ref', db.raw('CAST(amount_minor AS CHAR) AS amount'))) as Row[];
    const back: string[] = [];
    const seen = new Set<string>();
    for (const r of returned) {
      const ref = String(r.source_ref);
      if (seen.has(ref)) back.push(`payout ${ref} returned twice`);
      seen.add(ref);
      if (failed.get(ref) !== big(r.amount)) back.push(`payout ${ref} returned ${formatMoneyText(big(r.amount), currencyOf.get(ref) ?? '')}, but it is ${failed.has(ref) ? `FAILED for ${formatMoneyText(failed.get(ref)!, currencyOf.get(ref) ?? '')}` : 'not FAILED'}`);
    }
    for (const id of failed.keys()) if (!seen.has(id)) back.push(`FAILED payout ${id} was never returned`);
    check("each refused payout's amount returned to the seller exactly once", back, `${failed.size} refused, ${returned.length} returned`);
  }

  // 5. The double-entry payment ledger balances.
  check('the payment ledger balances', await ledgerProblems(db), 'every transfer balanced, nothing in flight');

  // 6. Nothing was dead-lettered: a dead letter on these topics is money not booked.
  {
    const admin = deps.kafka.admin();
    await admin.connect();
    const problems: string[] = [];
    try {
      for (const t of exp.topics) {
        const offsets = await admin.fetchTopicOffsets(dlqTopic(t)).catch(() => []);
        const n = offsets.reduce((a, o) => a + (BigInt(o.high) - BigInt(o.low)), 0n);
        if (n > 0n) problems.push(`${dlqTopic(t)} holds ${n} message(s)`);
      }
    } finally {
      await admin.disconnect();
    }
    check('no message dead-lettered', problems, `${exp.topics.length} dead-letter topics empty`);
  }

  // 7. Reconciliation, the system's own cross-check, finds nothing to worry about.
  {
    const recon = await deps.recon();
    const serious = recon.open.filter((f) => f.severity === 'CRITICAL' || f.severity === 'WARNING');
    check('reconciliation is clean', serious.map((f) => `${f.severity} ${f.rule} ${f.entity}: ${f.detail}`), `${recon.rules.length} rules, ${recon.open.length} open finding(s), none CRITICAL or WARNING`);
  }

  // 8. With leaders moving under the publisher: nothing acknowledged is lost, no seller reordered.
  if (deps.orders) {
    const { topic, published, codec } = deps.orders;
    const distinct = new Set(published.map((e) => e.event_id)).size;
    check('no acknowledged order event lost', await acknowledgedMissing(db, published), `${distinct} acknowledged events, every one in the ledger`);
    const order = await reorderedKeys(deps.kafka, codec, topic, published);
    check("no seller's order events reordered on the topic", order.problems, `${order.records} records read, each seller's events in the order sent`);
  }
  return results;
}

async function sumsBySeller(db: Knex, region: string, cycleId: bigint, source?: string): Promise<Map<bigint, bigint>> {
  const q = db('billing_item').select(db.raw('CAST(shop_user_id AS CHAR) AS seller')).sum({ s: 'amount_minor' }).where({ region, cycle_id: cycleId.toString() }).groupBy('shop_user_id');
  if (source) q.where({ source });
  else q.whereNot({ source: 'CARRY_FORWARD' });
  return new Map(((await q) as Row[]).map((r) => [big(r.seller), big(r.s)]));
}

async function count(q: Knex.QueryBuilder): Promise<number> {
  const [row] = (await q.count({ n: '*' })) as Row[];
  return Number(row?.n ?? 0);
}

function sum(values: Iterable<bigint>): bigint {
  let s = 0n;
  for (const v of values) s += v;
  return s;
}
