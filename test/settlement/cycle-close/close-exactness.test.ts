import path from 'node:path';
import { addRule } from '../../../processors/commission/rule-store';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import { createLogger } from '../../../runtime/logger';
import { useTestResources } from '../../fixtures/resources';
import { writeUploadCsv } from '../../fixtures/upload-files';
import { uploadInto, waitForUpload } from '../../fixtures/upload-harness';
import { settlementSetup } from '../../fixtures/close-harness';
import { orderStream } from '../../../tools/orders/synthetic-orders';
import { expectedSettlement } from '../../../tools/chaos/expected-settlement';

/**
 * Issue 5's exactness check: order events (refunds, adjustments, affiliates, late events, re-sent
 * duplicates) and an upload, aggregated, commissioned and closed; then every seller's items equal
 * its payout, commission equals an independent computation, the file's CtrlSum equals the payouts,
 * and closing again does nothing.
 */
const r = useTestResources();
const ORDERS = Number(process.env.STS_TEST_CLOSE_ORDERS ?? 20_000);
const UPLOAD_ROWS = Number(process.env.STS_TEST_CLOSE_UPLOAD_ROWS ?? 5_000);

test(`${ORDERS} orders and a ${UPLOAD_ROWS}-row upload close to exact payouts, commission and a verified pain.001`, async () => {
  const s = await settlementSetup(r);
  await addRule(s.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  const logger = createLogger('test-close', 'warn');
  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger };

  // The cycle before the closing one is closed first, so its events arrive late.
  await closeCycle(deps, { region: 'SG', cutoff: s.late.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts });
  const inClosing = (i: number) => new Date(s.closing.startsAt.getTime() + 60_000 + (i % 5000) * 60_000);
  const events = orderStream({ orders: ORDERS, sellers: 500, occurredAt: inClosing, prefix: r.unique('o') });
  const lateEvents = orderStream({ orders: 200, sellers: 500, occurredAt: () => new Date(s.late.startsAt.getTime() + 3_600_000), prefix: r.unique('late'), seed: 7, orderBase: 910000000000000000n });
  const resent = events.filter((_, i) => i % 50 === 0);

  await s.startPipeline();
  const file = path.join(s.dataDir, 'close-upload.csv');
  const upload = await writeUploadCsv(file, { rows: UPLOAD_ROWS, sellers: 300, refPrefix: r.unique('u'), badEvery: 500 });
  const intake = await uploadInto(s, file);
  await s.produce([...events, ...lateEvents, ...resent]);
  await waitForUpload(s, intake.uploadId, 300_000);

  const result = await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 300_000, drainUntil: new Date() });
  expect(result.alreadyClosed).toBe(false);
  const cycle = s.closing.cycleId.toString();

  // Late events landed in the closing cycle, flagged, not in the closed one.
  const [{ lateItems }] = (await s.db('billing_item').where({ cycle_id: cycle, late: true, source: 'ORDER' }).count({ lateItems: '*' })) as [Record<string, string>];
  expect(Number(lateItems)).toBe(lateEvents.length);
  const [{ inOld }] = (await s.db('billing_item').where({ cycle_id: s.late.cycleId.toString() }).count({ inOld: '*' })) as [Record<string, string>];
  expect(Number(inOld)).toBe(0);

  // Every seller: items of the cycle = its payout; and that equals the independent computation.
  const expected = expectedSettlement([...events, ...lateEvents], 250n).net;
  for (const [seller, sum] of upload.sumBySeller) expected.set(seller, (expected.get(seller) ?? 0n) + sum);
  const itemSums = new Map(
    ((await s.db('billing_item').select('shop_user_id').sum({ s: 'amount_minor' }).where({ region: 'SG', cycle_id: cycle }).groupBy('shop_user_id')) as Array<{ shop_user_id: string; s: string }>).map((x) => [
      BigInt(x.shop_user_id),
      BigInt(x.s),
    ]),
  );
  const payouts = (await s.db('payout').where({ region: 'SG', cycle_id: cycle })) as Array<{ shop_user_id: string; amount_minor: string; status: string }>;
  expect(payouts.length).toBe(expected.size);
  for (const p of payouts) {
    const seller = BigInt(p.shop_user_id);
    expect([seller, BigInt(p.amount_minor)]).toEqual([seller, itemSums.get(seller)]);
    expect([seller, BigInt(p.amount_minor)]).toEqual([seller, expected.get(seller)]);
    expect(p.status).toBe(BigInt(p.amount_minor) >= 100n ? 'PENDING' : 'CARRIED_FORWARD');
  }
  // Carried-forward balances reappear, exactly, in the next cycle.
  const carried = payouts.filter((p) => p.status === 'CARRIED_FORWARD' && p.amount_minor !== '0');
  const [{ cf }] = (await s.db('billing_item').where({ source: 'CARRY_FORWARD' }).sum({ cf: 'amount_minor' })) as [Record<string, string>];
  expect(BigInt(cf ?? 0)).toBe(carried.reduce((a, p) => a + BigInt(p.amount_minor), 0n));

  // The file: CtrlSum = the PENDING payouts; verify passes against the database.
  const pending = payouts.filter((p) => p.status === 'PENDING');
  expect(result.files).toHaveLength(1);
  expect(result.files[0]!.ctrlSumMinor).toBe(pending.reduce((a, p) => a + BigInt(p.amount_minor), 0n));
  expect(result.files[0]!.nbOfTxs).toBe(pending.length);
  expect((await verifyPayoutFile(result.files[0]!.path, s.db)).ok).toBe(true);
  const [{ events: payoutEvents }] = (await s.db('outbox').where({ topic: s.topics.payouts }).count({ events: '*' })) as [Record<string, string>];
  expect(Number(payoutEvents)).toBe(payouts.length);

  // Closing again creates nothing.
  const again = await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts });
  expect(again.alreadyClosed).toBe(true);
  const [{ n }] = (await s.db('payout').count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(payouts.length);
}, 900_000);
