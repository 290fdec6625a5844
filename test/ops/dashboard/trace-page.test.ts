import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { addRule } from '../../../processors/commission/rule-store';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { createLogger } from '../../../runtime/logger';
import { formatMoneyText } from '../../../runtime/money/money-text';
import { orderStream } from '../../../tools/orders/synthetic-orders';
import { useTestResources } from '../../fixtures/resources';
import { settlementSetup } from '../../fixtures/close-harness';
import { uploadInto, waitForUpload } from '../../fixtures/upload-harness';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { payThroughGateway } from '../../fixtures/gateway-payments';
import { waitFor } from '../../fixtures/processor-harness';
import { launchBrowser } from '../../fixtures/browser';

/**
 * The seller page in real headless Chromium: a week of the demo's synthetic orders and an upload
 * go through the real pipeline, the cycle closes and the gateway simulator pays it; then an
 * operator searches a seller on the Trace tab and reads, in major units, the items booked for it,
 * its payout and how that payout was paid, and follows the payout's link to its own trace.
 */
const r = useTestResources();
const gw = useGatewayHarness();
const OPERATOR = 'trace-page-operator-0123456789';
type Row = Record<string, unknown>;
let page: Page;
let s: Awaited<ReturnType<typeof settlementSetup>>;
let seller: string;
let payout: Row;

const SHOT_DIR = process.env.STS_UPDATE_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : path.join(loadConfig().dataDir, 'screenshots');
const shot = (name: string) => page.screenshot({ path: path.join(SHOT_DIR, `${name}.png`), fullPage: true });

beforeAll(async () => {
  s = await settlementSetup(r);
  await addRule(s.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  await s.startPipeline();
  const prefix = r.unique('page');
  const events = orderStream({ orders: 240, sellers: 8, occurredAt: (i) => new Date(s.closing.startsAt.getTime() + 3_600_000 + i * 60_000), prefix, orderBase: 931000000000000000n });
  await s.produce(events);
  seller = events[0]!.shop_user_id.toString();
  const csv = `external_ref,shop_user_id,region,currency,amount,item_type,order_id,memo\n${prefix}-adj,${seller},SG,SGD,1234.56,ADJUSTMENT,,goodwill credit\n`;
  await waitForUpload(s, (await uploadInto(s, Buffer.from(csv))).uploadId);

  const deps = { db: s.db, kafka: r.kafka, ids: s.ids, outbox: s.outbox, dataDir: s.dataDir, logger: createLogger('trace-page', 'warn') };
  await closeCycle(deps, { region: 'SG', cutoff: s.closing.cutoffAt, plan: s.plan, payoutsTopic: s.topics.payouts, watermarkTimeoutMs: 120_000, drainUntil: new Date() });
  payout = (await s.db('payout').where({ region: 'SG', cycle_id: s.closing.cycleId.toString(), shop_user_id: seller }).first()) as Row;
  expect(payout).toBeDefined();
  await payThroughGateway(r, s, gw, 'trace-page');
  await waitFor('the payout PAID', async () => ((await s.db('payout').where({ id: String(payout.id) }).first()) as Row).status === 'PAID', 90_000);
  payout = (await s.db('payout').where({ id: String(payout.id) }).first()) as Row;

  const ctx = createAppContext({ ...loadConfig(), mysqlUrl: s.url, dataDir: s.dataDir }, 'trace-page-test', { logLevel: 'warn' });
  const app: FastifyInstance = await buildOpsApi(ctx, { tokens: `${OPERATOR}:viewer:vera` });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const browser = await launchBrowser(r);
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(base);
  await page.fill('#token', OPERATOR);
  await page.click('#login-form button');
  await page.waitForSelector('#tabs:not([hidden])');
}, 240_000);

test("a seller searched on the Trace tab shows its items, its payout and how it was paid, in major units", async () => {
  await page.click('nav button[data-tab="trace"]');
  await page.selectOption('#trace-kind', 'seller');
  await page.fill('#trace-id', seller);
  await page.click('#trace-form button');
  await page.waitForSelector('.trace-head');

  // Booked: one row per billing item of the seller's cycle, each amount as the table holds it.
  const items = (await s.db('billing_item').where({ region: 'SG', shop_user_id: seller, cycle_id: s.closing.cycleId.toString() })) as Row[];
  expect(items.length).toBeGreaterThan(10);
  const booked = page.locator('.trace-step[data-step="booked"] tr[data-kind="ITEM"] td.money');
  expect(await booked.count()).toBe(items.length);
  expect((await booked.allTextContents()).sort()).toEqual(items.map((i) => formatMoneyText(String(i.amount_minor), 'SGD')).sort());
  expect(await page.locator('.trace-step[data-step="booked"]').textContent()).toContain('SGD 1,234.56');
  expect(await page.locator('.trace-step[data-step="intake"] tr[data-kind="UPLOAD_ROW"]').count()).toBe(1);
  expect(await page.locator('.trace-step[data-step="intake"] tr[data-kind="ORDER_EVENT"]').first().textContent()).toMatch(new RegExp(`${s.topics.orders} / partition \\d+ @ offset \\d+`));

  // The close made the payout, and the headline says what was paid and how.
  const amount = formatMoneyText(String(payout.amount_minor), 'SGD');
  expect(amount).toMatch(/^SGD \d{1,3}(,\d{3})*\.\d{2}$/);
  const head = (await page.locator('.trace-head').textContent())!;
  expect(head).toContain(`payout ${String(payout.id)} ${amount} PAID by gateway`);
  expect(await page.locator('.trace-step[data-step="close"] tr[data-kind="PAYOUT"] td.money').textContent()).toBe(amount);

  // How it was paid: the gateway's result and the ledger postings, each in major units.
  const result = (await page.locator('.trace-step[data-step="payment"] tr[data-kind="PAYOUT_RESULT"]').textContent())!;
  expect(result).toContain(`PAID by gateway after ${String(payout.attempts)} attempt(s)`);
  expect(result).toContain(String(payout.gateway_reference));
  const postings = (await s.db('fund_movement').where({ tx_id: String(payout.id) })) as Row[];
  const shown = page.locator('.trace-step[data-step="payment"] tr[data-kind="POSTING"] td.money');
  expect((await shown.allTextContents()).sort()).toEqual(postings.map((m) => formatMoneyText(String(m.amount_minor), 'SGD')).sort());
  await shot('trace-seller');

  // The payout's link opens the payout's own trace, with the same payout at its head.
  await page.click(`.trace-head a[data-trace^="payout|${String(payout.id)}|"]`);
  await page.waitForSelector(`.trace-head[data-subject="payout|${String(payout.id)}"]`);
  expect(await page.inputValue('#trace-kind')).toBe('payout');
  expect(await page.locator('.trace-step[data-step="booked"] tr[data-kind="ITEM"]').count()).toBe(items.length);
});

test('an unknown seller says it was not found, and shows no page', async () => {
  await page.selectOption('#trace-kind', 'seller');
  await page.fill('#trace-id', '999999999999999999');
  await page.click('#trace-form button');
  await page.waitForSelector('#trace-msg:has-text("not found")');
  expect(await page.locator('.trace-head').count()).toBe(0);
});
