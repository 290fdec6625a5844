import fs from 'node:fs';
import type { KafkaMessage } from 'kafkajs';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import { appendBillingItems, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { nextCycleId } from '../../../runtime/billing/cycle-calendar';
import { DEFAULT_MONEY_BOUNDS, PAIN001_MAX_MINOR } from '../../../runtime/money/money-bounds';
import { createLogger } from '../../../runtime/logger';
import { dlqTopic } from '../../../runtime/topology/types';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import type { OrderEvent } from '../../../contracts/order-event';
import { useTestResources } from '../../fixtures/resources';
import { offsetsAtEnd, waitFor } from '../../fixtures/processor-harness';
import { uploadInto, waitForUpload } from '../../fixtures/upload-harness';
import { settlementSetup } from '../../fixtures/close-harness';
import { registerSyntheticPayees } from '../../../tools/demo/synthetic-payees';

/**
 * Money bounds end to end on the real stack: an upload and an order-event batch each carrying one
 * item that would take its seller past the payout bound (only that one is refused, with its
 * reason; nothing is dead-lettered but the one event), then a close whose payouts add up to more
 * than a pain.001 CtrlSum's 18 digits, which ends CLOSED with verified files split into parts.
 * 9,007,199,254,740,993 minor units (past 2^53) goes the whole way exactly.
 */
const r = useTestResources();
const ITEM = DEFAULT_MONEY_BOUNDS.maxItemMinor;
const PAYOUT = DEFAULT_MONEY_BOUNDS.maxPayoutMinor;
const PAST_2_53 = 9_007_199_254_740_993n;

const UPLOADER = 652024209997893700n;
const UPLOADER_2 = 652024209997893701n;
const EVENT_SELLER = 652024209997893800n;
const EXACT_SELLER = 652024209997893900n;
const DEBTOR = 652024209997895000n;
const SMALL_DEBTOR = 652024209997895001n;
const BIG_SELLERS = Array.from({ length: 20 }, (_, i) => 652024209997894000n + BigInt(i));

let s: Awaited<ReturnType<typeof settlementSetup>>;

beforeAll(async () => {
  s = await settlementSetup(r);
  await s.startPipeline();
}, 180_000);

async function balance(seller: bigint): Promise<bigint | undefined> {
  const row = (await s.db('settlement_account').where({ region: 'SG', shop_user_id: seller.toString(), cycle_id: s.closing.cycleId.toString() }).first('balance_minor')) as { balance_minor: string } | undefined;
  return row && BigInt(row.balance_minor);
}

async function readAll(topic: string, atLeast: number, settleMs = 1500): Promise<KafkaMessage[]> {
  const consumer = r.kafka.consumer({ groupId: r.group('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  try {
    await waitFor(`${atLeast} messages on ${topic}`, async () => got.length >= atLeast, 30_000);
    await new Promise((res) => setTimeout(res, settleMs));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

test('an upload row that would pass its seller\'s payout bound is rejected with BALANCE_LIMIT; the rows at the item bound and the rest of the chunk apply, nothing is dead-lettered', async () => {
  const rows = [
    ...Array.from({ length: 10 }, (_, i) => `${r.unique('u')}-${i},${UPLOADER},SG,SGD,99999999999999.99,ADJUSTMENT,,at the item bound`),
    `${r.unique('u')}-over,${UPLOADER},SG,SGD,0.10,ADJUSTMENT,,one too many`,
    `${r.unique('u')}-back,${UPLOADER},SG,SGD,-0.05,ADJUSTMENT,,moves back in`,
    `${r.unique('u')}-other,${UPLOADER_2},SG,SGD,5.00,ADJUSTMENT,,another seller`,
    `${r.unique('u')}-exact,${EXACT_SELLER},SG,SGD,90071992547409.93,ADJUSTMENT,,past 2^53`,
  ];
  const csv = Buffer.from(`external_ref,shop_user_id,region,currency,amount,item_type,order_id,memo\n${rows.join('\n')}\n`);
  const intake = await uploadInto(s, csv);
  const status = await waitForUpload(s, intake.uploadId, 120_000);
  expect(status.status).toBe('COMPLETED');
  expect(status.acceptedRows).toBe(13n);
  expect(status.rejectedRows).toBe(1n);
  const rejects = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() })) as Array<{ row_number: string; reason_code: string; message: string }>;
  expect(rejects.map((x) => [x.row_number, x.reason_code])).toEqual([['11', 'BALANCE_LIMIT']]);
  expect(rejects[0]!.message).toMatch(/beyond the payout bound of 99999999999999999/);

  expect(await balance(UPLOADER)).toBe(10n * ITEM - 5n);
  expect(await balance(UPLOADER_2)).toBe(500n);
  expect(await balance(EXACT_SELLER)).toBe(PAST_2_53);
  const [{ chunksDone }] = (await s.db('upload_chunk').where({ upload_id: intake.uploadId.toString(), status: 'DONE' }).count({ chunksDone: '*' })) as [Record<string, string>];
  expect(Number(chunksDone)).toBe(Number(status.chunkCount));
  // The chunk topic's DLQ stays empty: produce a marker and see it is the only message there.
  const producer = r.kafka.producer();
  await producer.connect();
  await producer.send({ topic: dlqTopic(s.topic), messages: [{ value: 'marker' }] });
  await producer.disconnect();
  const letters = await readAll(dlqTopic(s.topic), 1, 500);
  expect(letters.map((m) => m.value?.toString())).toEqual(['marker']);
}, 180_000);

test('in an order-event batch, only the event that would pass its seller\'s payout bound is dead-lettered, with the reason; the others apply', async () => {
  const at = new Date(s.closing.startsAt.getTime() + 3_600_000);
  const prefix = r.unique('e');
  let order = 700000000000000000n;
  const event = (i: string, amount: bigint, seller = EVENT_SELLER): OrderEvent => ({
    event_id: `${prefix}-${i}`,
    event_type: 'ORDER_ADJUSTED',
    order_id: order++,
    shop_user_id: seller,
    region: 'SG',
    currency: 'SGD',
    amount_minor: amount,
    category: 'electronics',
    affiliate_user_id: null,
    occurred_at: at,
  });
  const events = [...Array.from({ length: 10 }, (_, i) => event(`fill${i}`, ITEM)), event('over1', ITEM), event('back1', -100n)];
  await s.produce(events);
  await waitFor('aggregation at the end of its topic', () => offsetsAtEnd(r.kafka, s.groups.orders, s.topics.orders), 120_000);

  const letters = await readAll(dlqTopic(s.topics.orders), 1);
  expect(letters).toHaveLength(1);
  const header = (name: string) => letters[0]!.headers?.[name]?.toString();
  expect(header(DLQ_HEADERS.code)).toBe('STS_VALIDATION_FAILED');
  expect(header(DLQ_HEADERS.message)).toContain(`event ${prefix}-over1 refused (BALANCE_LIMIT)`);
  expect(letters[0]!.key?.toString()).toBe(EVENT_SELLER.toString());

  const booked = (await s.db('billing_item').where({ source: 'ORDER', shop_user_id: EVENT_SELLER.toString() }).select('source_ref')) as Array<{ source_ref: string }>;
  expect(booked.map((b) => b.source_ref).sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `${prefix}-fill${i}`), `${prefix}-back1`].sort());
  expect(await balance(EVENT_SELLER)).toBe(10n * ITEM - 100n);
}, 180_000);

test('a close whose payouts total more than 18 digits ends CLOSED, with parts whose every CtrlSum fits, that verify and regenerate byte for byte; a debt whose carry would pass int64 is held, not carried', async () => {
  // 20 sellers each a little under the payout bound: together about 2 * 10^18.
  const items: BillingItemInput[] = [];
  for (const [i, seller] of BIG_SELLERS.entries()) {
    for (let k = 0; k < 10; k++) {
      items.push({
        id: s.ids.next(),
        region: 'SG',
        shopUserId: seller,
        currency: 'SGD',
        amountMinor: ITEM - BigInt(i),
        itemType: 'ADJUSTMENT',
        source: 'TEST',
        sourceRef: `${r.unique('big')}-${i}-${k}`,
        cycleId: s.closing.cycleId,
      });
    }
  }
  const appended = await s.db.transaction((trx) => appendBillingItems(trx, items));
  expect(appended.refused).toEqual([]);
  await registerSyntheticPayees(s.db, BIG_SELLERS, 'SGD', 'cli:test');
  // A debt carried over many cycles (seeded as it would stand), whose carry into the next cycle,
  // which already owes as much, would pass int64; and an ordinary small debt.
  const next = nextCycleId('SG', s.closing.cycleId).toString();
  const account = (seller: bigint, cycle: string, balance: bigint) => ({ region: 'SG', shop_user_id: seller.toString(), currency: 'SGD', cycle_id: cycle, balance_minor: balance.toString(), item_count: 1 });
  await s.db('settlement_account').insert([account(DEBTOR, s.closing.cycleId.toString(), -(2n ** 62n) - 10n), account(DEBTOR, next, -(2n ** 62n)), account(SMALL_DEBTOR, s.closing.cycleId.toString(), -250n)]);

  const logger = createLogger('test-close', 'warn');
  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger };
  const result = await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 120_000 });
  const cycle = (await s.db('settlement_cycle').where({ region: 'SG', cycle_id: s.closing.cycleId.toString() }).first('status')) as { status: string };
  expect(cycle.status).toBe('CLOSED');

  // The debt that cannot be carried is held, exactly, on its payout; the small one is carried.
  const held = (await s.db('payout').where({ cycle_id: s.closing.cycleId.toString(), shop_user_id: DEBTOR.toString() }).first('status', 'amount_minor', 'hold_reason')) as { status: string; amount_minor: string; hold_reason: string };
  expect(held).toEqual({ status: 'ON_HOLD', amount_minor: (-(2n ** 62n) - 10n).toString(), hold_reason: 'CARRY_LIMIT' });
  const carried = (await s.db('billing_item').where({ source: 'CARRY_FORWARD' }).whereIn('shop_user_id', [DEBTOR.toString(), SMALL_DEBTOR.toString()]).select('shop_user_id', 'amount_minor', 'cycle_id')) as Array<Record<string, string>>;
  expect(carried).toEqual([{ shop_user_id: SMALL_DEBTOR.toString(), amount_minor: '-250', cycle_id: next }]);
  expect((await s.db('settlement_account').where({ shop_user_id: DEBTOR.toString(), cycle_id: next }).first('balance_minor'))?.balance_minor).toBe((-(2n ** 62n)).toString());

  const payouts = (await s.db('payout').where({ region: 'SG', cycle_id: s.closing.cycleId.toString(), status: 'PENDING' })) as Array<{ shop_user_id: string; amount_minor: string }>;
  const total = payouts.reduce((a, p) => a + BigInt(p.amount_minor), 0n);
  expect(total).toBeGreaterThan(PAIN001_MAX_MINOR);
  for (const p of payouts) expect(BigInt(p.amount_minor)).toBeLessThanOrEqual(PAYOUT);
  expect(payouts.find((p) => p.shop_user_id === EXACT_SELLER.toString())?.amount_minor).toBe(PAST_2_53.toString());

  expect(result.files.length).toBeGreaterThanOrEqual(3);
  expect(result.files.map((f) => f.part)).toEqual(result.files.map((_, i) => i + 1));
  expect(result.files.reduce((a, f) => a + f.ctrlSumMinor, 0n)).toBe(total);
  expect(result.files.reduce((a, f) => a + f.nbOfTxs, 0)).toBe(payouts.length);
  for (const f of result.files) {
    expect(f.ctrlSumMinor).toBeLessThanOrEqual(PAIN001_MAX_MINOR);
    expect(f.status).toBe('RELEASED');
    expect(f.relativePath).toMatch(new RegExp(`pain001-SG-${s.closing.cycleId}-SGD-p${f.part}\\.xml$`));
    const xml = fs.readFileSync(f.path, 'utf8');
    const sums = [...xml.matchAll(/<CtrlSum>([\d.]+)<\/CtrlSum>/g)].map((m) => m[1]!);
    expect(sums).toHaveLength(2);
    for (const sum of sums) expect(sum.replace('.', '').replace(/^0+/, '').length).toBeLessThanOrEqual(18);
    expect(xml).toContain(`<MsgId>STS-SG-${s.closing.cycleId}-SGD-P${f.part}</MsgId>`);
    const verify = await verifyPayoutFile(f.path, s.db);
    expect(verify.checks.filter((c) => !c.ok)).toEqual([]);
  }
  const rows = (await s.db('payout_file').where({ region: 'SG', cycle_id: s.closing.cycleId.toString() }).orderBy('part')) as Array<{ part: number; ctrl_sum_minor: string; status: string }>;
  expect(rows.map((x) => [x.part, x.ctrl_sum_minor, x.status])).toEqual(result.files.map((f) => [f.part, f.ctrlSumMinor.toString(), 'RELEASED']));

  // The 2^53 + 1 payout's amount, as text, in the file that holds it.
  const texts = result.files.map((f) => fs.readFileSync(f.path, 'utf8'));
  expect(texts.filter((t) => t.includes('<InstdAmt Ccy="SGD">90071992547409.93</InstdAmt>'))).toHaveLength(1);

  // Regeneration: the same parts, the same bytes.
  const again = await writePayoutFiles(s.db, s.dataDir, 'SG', s.closing.cycleId);
  expect(again.ok).toBe(true);
  expect(again.files.map((f) => [f.part, f.state, f.sha256])).toEqual(result.files.map((f) => [f.part, 'unchanged', f.sha256]));
}, 300_000);
