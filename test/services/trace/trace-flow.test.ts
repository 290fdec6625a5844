import type { KafkaMessage } from 'kafkajs';
import { addRule } from '../../../processors/commission/rule-store';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { createLogger } from '../../../runtime/logger';
import { saveRuleFindings } from '../../../services/recon/finding-store';
import { auditCli } from '../../../ops/api/audit';
import type { OrderEvent } from '../../../contracts/order-event';
import { AFFILIATE_BASE, SELLER_BASE } from '../../../tools/orders/synthetic-orders';
import type { TraceResult } from '../../../services/trace/trace-types';
import { useTestResources } from '../../fixtures/resources';
import { settlementSetup } from '../../fixtures/close-harness';
import { uploadInto, waitForUpload } from '../../fixtures/upload-harness';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { payThroughGateway } from '../../fixtures/gateway-payments';
import { waitFor } from '../../fixtures/processor-harness';
import { runCli } from '../../fixtures/cli';

/**
 * `sts trace payout ID --json` after a small flow through the real pipeline: order events through
 * settlement-aggregation (so their offsets are real), an upload through ingestion, commission, a
 * close and a payment through the gateway simulator, then a finding and an operator action. Every
 * step of the trace is checked against the table it came from, and each order event's recorded
 * coordinates against the topic: the message there is that event.
 */
const r = useTestResources();
const gw = useGatewayHarness();

const SELLER = SELLER_BASE + 7n;
const AFFILIATE = AFFILIATE_BASE + 3n;
const ORDER_A = 652024209997911001n;
const ORDER_B = 652024209997911002n;

type Json = Record<string, unknown>;
const entries = (t: Json, step: string, kind: string) =>
  ((t.steps as Array<{ step: string; entries: Json[] }>).find((s) => s.step === step)!.entries).filter((e) => e.kind === kind);

test('a payout traced through the CLI shows every step, each as its table holds it', async () => {
  const s = await settlementSetup(r);
  const rule = await addRule(s.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  const logger = createLogger('test-trace', 'warn');
  await s.startPipeline();

  const at = (h: number) => new Date(s.closing.startsAt.getTime() + h * 3_600_000);
  const event = (over: Partial<OrderEvent> & Pick<OrderEvent, 'event_id' | 'event_type' | 'order_id' | 'amount_minor'>): OrderEvent => ({
    shop_user_id: SELLER, region: 'SG', currency: 'SGD', category: 'books', affiliate_user_id: null, occurred_at: at(2), ...over,
  });
  const prefix = r.unique('tr');
  const events = [
    event({ event_id: `${prefix}-a`, event_type: 'ORDER_COMPLETED', order_id: ORDER_A, amount_minor: 250_000n, affiliate_user_id: AFFILIATE }),
    event({ event_id: `${prefix}-b`, event_type: 'ORDER_COMPLETED', order_id: ORDER_B, amount_minor: 120_000n, occurred_at: at(3) }),
    event({ event_id: `${prefix}-a-refund`, event_type: 'ORDER_REFUNDED', order_id: ORDER_A, amount_minor: 50_000n, affiliate_user_id: AFFILIATE, occurred_at: at(5) }),
  ];
  await s.produce(events);
  const csv = `external_ref,shop_user_id,region,currency,amount,item_type,order_id,memo\n${prefix}-u1,${SELLER},SG,SGD,12.34,ADJUSTMENT,,first\n${prefix}-u2,${SELLER},SG,SGD,-2.00,SERVICE_FEE,,second\n`;
  const intake = await uploadInto(s, Buffer.from(csv));
  await waitForUpload(s, intake.uploadId);

  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger };
  await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 120_000, drainUntil: new Date() });
  const [payout] = (await s.db('payout').where({ region: 'SG', cycle_id: s.closing.cycleId.toString(), shop_user_id: SELLER.toString() })) as Json[];
  expect(payout!.status).toBe('PENDING');
  const payoutId = String(payout!.id);

  // payment-notify on the close's payout topic, against an in-process gateway simulator.
  await payThroughGateway(r, s, gw, 'trace-test');
  await waitFor('the payout PAID', async () => ((await s.db('payout').where({ id: payoutId }).first()) as Json).status === 'PAID', 60_000);

  // What touches it afterwards: a finding about the payout and an operator action on it.
  const entity = `SG/${s.closing.cycleId}/payout/${payoutId}`;
  await saveRuleFindings(s.db, [{ rule: 'gateway-report', severity: 'WARNING', entity, detail: 'test finding' }], new Map(), new Date(), false);
  await auditCli(s.db, 'payout.note', payoutId, { note: 'looked at it' });

  const run = await runCli(['trace', 'payout', payoutId, '--json'], { STS_MYSQL_URL: s.url });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const trace = JSON.parse(run.stdout) as Json;
  expect(trace.ok).toBe(true);
  expect((trace.steps as Json[]).map((x) => x.step)).toEqual(['intake', 'booked', 'close', 'payment', 'oversight']);
  expect(trace.subject).toMatchObject({ kind: 'payout', id: payoutId, payoutIds: [payoutId] });

  // 2. booked: exactly the account's items, as billing_item holds them.
  const items = (await s.db('billing_item').where({ region: 'SG', shop_user_id: SELLER.toString(), cycle_id: s.closing.cycleId.toString() }).orderBy('id')) as Json[];
  const booked = entries(trace, 'booked', 'ITEM');
  expect(booked.map((i) => [i.itemId, i.source, i.sourceRef, i.amountMinor, i.itemType])).toEqual(
    expect.arrayContaining(items.map((i) => [String(i.id), i.source, i.source_ref, String(i.amount_minor), i.item_type])),
  );
  expect(booked).toHaveLength(items.length);
  expect(new Set(items.map((i) => i.source))).toEqual(new Set(['ORDER', 'UPLOAD', 'COMMISSION']));
  const sum = items.reduce((a, i) => a + BigInt(String(i.amount_minor)), 0n);
  expect(sum.toString()).toBe(String(payout!.amount_minor));

  // Commission: the charges with the rule version that priced them, and the clawback.
  const charges = entries(trace, 'booked', 'COMMISSION_CHARGE');
  expect(charges.map((c) => [c.orderId, c.ruleVersion, c.ruleId]).sort()).toEqual([
    [ORDER_A.toString(), rule.version, String(rule.id)],
    [ORDER_B.toString(), rule.version, String(rule.id)],
  ]);
  const [chargeA] = (await s.db('commission_charge').where({ region: 'SG', order_id: ORDER_A.toString() })) as Json[];
  expect(charges.find((c) => c.orderId === ORDER_A.toString())).toMatchObject({ feeMinor: String(chargeA!.fee_minor), affiliateUserId: AFFILIATE.toString(), ruleVersion: chargeA!.rule_version });
  const [clawback] = (await s.db('commission_clawback').where({ region: 'SG', order_id: ORDER_A.toString() })) as Json[];
  expect(entries(trace, 'booked', 'COMMISSION_CLAWBACK')).toEqual([
    expect.objectContaining({ requestId: clawback!.request_id, feeClawbackMinor: String(clawback!.fee_clawback_minor), ruleVersion: rule.version }),
  ]);

  // 1. intake: each order event where it was read, each upload row by upload and row number.
  const orderEvents = entries(trace, 'intake', 'ORDER_EVENT');
  expect(orderEvents.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.event_id).sort());
  const onTopic = await readTopic(s.topics.orders, events.length);
  for (const e of orderEvents) {
    expect(e.topic).toBe(s.topics.orders);
    const message = onTopic.find((m) => m.partition === e.partition && m.message.offset === e.offset);
    expect(message).toBeDefined();
    const decoded = (await s.codec.decode<OrderEvent>(message!.message.value!)).value;
    expect(decoded.event_id).toBe(e.eventId);
    expect(decoded.order_id.toString()).toBe(e.orderId);
  }
  const rows = entries(trace, 'intake', 'UPLOAD_ROW');
  expect(rows.map((u) => [u.externalRef, u.uploadId, u.rowNumber, u.fileName])).toEqual([
    [`${prefix}-u1`, intake.uploadId.toString(), '1', 'inline.csv'],
    [`${prefix}-u2`, intake.uploadId.toString(), '2', 'inline.csv'],
  ]);

  // 3. close: the account's balance and the payout.
  expect(entries(trace, 'close', 'PAYOUT')).toEqual([expect.objectContaining({ payoutId, amountMinor: String(payout!.amount_minor), rail: 'gateway', cycleId: s.closing.cycleId.toString() })]);
  expect(entries(trace, 'close', 'ACCOUNT')).toEqual([expect.objectContaining({ balanceMinor: String(payout!.amount_minor), itemCount: String(items.length) })]);

  // 4. payment: the submission, the result, the TCC transaction and its postings.
  const paid = (await s.db('payout').where({ id: payoutId }).first()) as Json;
  const [submission] = (await s.db('payout_submission').where({ payout_id: payoutId })) as Json[];
  expect(entries(trace, 'payment', 'SUBMISSION')).toEqual([expect.objectContaining({ payeeAccount: submission!.payee_account, sourceTopic: s.topics.payouts, sourceOffset: String(submission!.source_offset) })]);
  expect(entries(trace, 'payment', 'PAYOUT_RESULT')).toEqual([expect.objectContaining({ status: 'PAID', attempts: paid.attempts, gatewayReference: paid.gateway_reference })]);
  expect(entries(trace, 'payment', 'TCC')).toEqual([expect.objectContaining({ state: 'CONFIRMED', amountMinor: String(payout!.amount_minor) })]);
  const movements = (await s.db('fund_movement').where({ tx_id: payoutId })) as Json[];
  expect(entries(trace, 'payment', 'POSTING').map((m) => [m.phase, m.debitAccount, m.creditAccount, m.amountMinor]).sort()).toEqual(
    movements.map((m) => [m.phase, m.debit_account, m.credit_account, String(m.amount_minor)]).sort(),
  );
  expect(movements.map((m) => m.phase).sort()).toEqual(['ACCRUE', 'CONFIRM', 'TRY']);

  // 5. oversight: the finding and the operator action.
  const [finding] = (await s.db('recon_finding').where({ entity })) as Json[];
  expect(entries(trace, 'oversight', 'FINDING')).toEqual([expect.objectContaining({ findingId: String(finding!.id), rule: 'gateway-report', entity })]);
  const [audit] = (await s.db('ops_audit').where({ target: payoutId })) as Json[];
  expect(entries(trace, 'oversight', 'AUDIT')).toEqual([expect.objectContaining({ auditId: String(audit!.id), action: 'payout.note', target: payoutId })]);

  // Each step oldest first; no formatted amount anywhere in the JSON.
  for (const step of trace.steps as Array<{ entries: Json[] }>) {
    const times = step.entries.map((e) => Date.parse(String(e.at)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
  expect(run.stdout).not.toMatch(/SGD \d/);

  // The human timeline shows money as money.
  const text = await runCli(['trace', 'payout', payoutId], { STS_MYSQL_URL: s.url });
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('1. what came in');
  expect(text.stdout).toContain(`5. findings and operator actions`);
  expect(text.stdout).toMatch(/payout \d+ SGD [\d,]+\.\d{2} PAID on gateway/);
  expect(text.stdout).toContain(`partition ${String(orderEvents[0]!.partition)} offset ${String(orderEvents[0]!.offset)}`);

  // The same payout through the order and the reference: the order trace holds both accounts.
  const byOrder = JSON.parse((await runCli(['trace', 'order', ORDER_A.toString(), '--json'], { STS_MYSQL_URL: s.url })).stdout) as TraceResult & Json;
  expect((byOrder.subject.accounts as unknown as Json[]).map((a) => a.shopUserId).sort()).toEqual([SELLER.toString(), AFFILIATE.toString()].sort());
  const byRef = JSON.parse((await runCli(['trace', 'ref', `${prefix}-u1`, '--json'], { STS_MYSQL_URL: s.url })).stdout) as Json;
  expect(byRef.subject).toMatchObject({ kind: 'ref', matchedAs: 'item', payoutIds: [payoutId] });
  // The gateway's reference, as the seller's bank statement shows it, finds the same payout.
  expect(paid.gateway_reference).toMatch(/^GW\d+$/);
  const byTransfer = JSON.parse((await runCli(['trace', 'ref', String(paid.gateway_reference), '--json'], { STS_MYSQL_URL: s.url })).stdout) as Json;
  expect(byTransfer.subject).toMatchObject({ kind: 'ref', matchedAs: 'gateway-reference', payoutIds: [payoutId] });
  const bySeller = JSON.parse((await runCli(['trace', 'seller', SELLER.toString(), '--region', 'SG', '--json'], { STS_MYSQL_URL: s.url })).stdout) as Json;
  expect(bySeller.subject).toMatchObject({ kind: 'seller', payoutIds: [payoutId] });
});

/** Every message of the topic, with its partition, read by a throwaway group. */
async function readTopic(topic: string, expected: number): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const consumer = r.kafka.consumer({ groupId: r.group('trace-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<{ partition: number; message: KafkaMessage }> = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => void got.push({ partition, message }) });
  try {
    await waitFor(`${expected} order events`, async () => got.length >= expected, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

