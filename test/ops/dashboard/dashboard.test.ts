import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { useTestResources } from '../../fixtures/resources';
import { settlementSetup } from '../../fixtures/close-harness';
import { orderStream } from '../../../tools/orders/synthetic-orders';
import { writeUploadCsv } from '../../fixtures/upload-files';
import { launchBrowser } from '../../fixtures/browser';
import { startInProcess } from '../../fixtures/processor-harness';
import { settlementAggregation } from '../../../processors/settlement-aggregation/processor';
import { addRule } from '../../../processors/commission/rule-store';
import { formatMoneyText } from '../../../runtime/money/money-text';

/**
 * The dashboard in real headless Chromium against the real ops API and pipeline: sign in, upload a
 * file and watch it reach 100%, close a cycle with the confirmation, confirm or cancel an upload
 * its checks held. Screenshots go to docs/.
 */
const r = useTestResources();
const OPERATOR = 'dashboard-operator-0123456789';
let page: Page;
let s: Awaited<ReturnType<typeof settlementSetup>>;
let app: FastifyInstance;
let lagGroup: string;

beforeAll(async () => {
  s = await settlementSetup(r);
  lagGroup = r.group('lag');
  await addRule(s.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  await s.startPipeline();
  // At most 100 sellers per upload without a confirmation: the 100-seller file passes, a wider one is held.
  const config = loadConfig();
  const ctx = createAppContext({ ...config, mysqlUrl: s.url, dataDir: s.dataDir, uploadChecks: { ...config.uploadChecks, maxSellers: 100 } }, 'dashboard-test', { logLevel: 'warn' });
  app = await buildOpsApi(ctx, {
    tokens: `${OPERATOR}:operator:olga`,
    intake: { topic: s.topic },
    close: { plan: s.plan, payoutsTopic: s.topics.payouts },
    lag: { targets: [{ group: lagGroup, topic: s.topics.orders }], monitor: { intervalMs: 500 } },
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const browser = await launchBrowser(r);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => void d.accept());
  await page.goto(base);
}, 120_000);

/** Polls from the test side: the page's CSP (rightly) forbids the string evaluation waitForFunction needs. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * Screenshots go to STS_DATA_DIR/screenshots, so a test run leaves the tree clean;
 * STS_UPDATE_SCREENSHOTS=1 writes them over docs/screenshots, the ones the docs show.
 */
const SHOT_DIR = process.env.STS_UPDATE_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : path.join(loadConfig().dataDir, 'screenshots');
const shot = (name: string) => page.screenshot({ path: path.join(SHOT_DIR, `${name}.png`), fullPage: true });

test('a wrong token is refused; the right one signs in', async () => {
  await page.fill('#token', 'not-a-valid-token-at-all');
  await page.click('#login-form button');
  await page.waitForSelector('#login-error:has-text("Sign-in failed")');
  await page.fill('#token', OPERATOR);
  await page.click('#login-form button');
  await page.waitForSelector('#tabs:not([hidden])');
});

test('an uploaded file shows its progress reaching 100%, with its counts', async () => {
  await page.click('nav button[data-tab="uploads"]');
  const file = path.join(s.dataDir, 'dashboard-upload.csv');
  await writeUploadCsv(file, { rows: 20_000, sellers: 100, refPrefix: r.unique('dash'), badEvery: 1000 });
  await page.setInputFiles('#upload-file', file);
  await page.click('#upload-form button');
  await page.waitForSelector('#upload-msg:has-text("queued")');
  const row = page.locator('#uploads-table tbody tr').first();
  await row.locator('.pct:has-text("100%")').waitFor({ timeout: 120_000 });
  await row.locator('td.status-COMPLETED').waitFor();
  const cells = await row.locator('td').allTextContents();
  expect(cells.slice(4, 7)).toEqual(['19980', '20', '0']);
  await shot('uploads');
}, 180_000);

test('closing a cycle asks for confirmation, then shows it CLOSED with a released file', async () => {
  await s.produce(orderStream({ orders: 300, sellers: 20, occurredAt: () => new Date(s.closing.startsAt.getTime() + 86_400_000), prefix: r.unique('dash'), orderBase: 930000000000000000n }));
  await page.click('nav button[data-tab="cycles"]');
  await page.selectOption('#close-region', 'SG');
  await page.fill('#close-cutoff', s.closing.cutoffAt.toISOString());
  // The confirmation carries the close's preview (GET /cycles/:region/latest/preview), money in major units.
  const asked: string[] = [];
  const onDialog = (d: { message(): string }) => void asked.push(d.message());
  page.on('dialog', onDialog);
  await page.click('#close-form button');
  await page.waitForSelector('#close-msg:has-text("closed:")', { timeout: 120_000 });
  page.off('dialog', onDialog);
  expect(asked).toHaveLength(1);
  expect(asked[0]).toContain(`Preview of cycle ${s.closing.cycleId} (OPEN):`);
  expect(asked[0]).toMatch(/^SGD: \d+ payouts, total SGD \d{1,3}(,\d{3})*\.\d{2}, average SGD [\d,]+\.\d{2}$/m);
  expect(asked[0]).toMatch(/^(Flagged:|Nothing flagged\.)$/m);
  const row = page.locator(`#cycles-table tr[data-cycle="SG/${s.closing.cycleId}"]`);
  await row.locator('td.status-CLOSED').waitFor();
  await row.locator('text=SGD RELEASED').waitFor();
  await row.locator('[data-verify]').click();
  await row.locator('.verify:has-text("verify passed")').waitFor();
  // The total is money as a person reads it (money.js): major units, grouped, never minor units.
  const [[paid]] = (await s.db.raw(`SELECT CAST(SUM(amount_minor) AS CHAR) AS total FROM payout WHERE region = 'SG' AND cycle_id = ?`, [s.closing.cycleId.toString()])) as [[{ total: string }]];
  expect(await row.locator('td').nth(4).textContent()).toBe(formatMoneyText(paid.total, 'SGD'));
  expect(await row.locator('td').nth(4).textContent()).toMatch(/^SGD \d{1,3}(,\d{3})*\.\d{2}$/);
  await shot('cycles');
  const audit = await s.db('ops_audit').select('actor', 'action', 'status').orderBy('id');
  expect(audit).toEqual(
    expect.arrayContaining([
      { actor: 'api:olga', action: 'POST /uploads', status: 202 },
      { actor: 'api:olga', action: 'POST /cycles/close', status: 200 },
    ]),
  );
}, 180_000);

test('lag rises on the chart while a group is behind and falls once it catches up', async () => {
  await page.click('nav button[data-tab="lag"]');
  await s.produce(orderStream({ orders: 3000, sellers: 50, occurredAt: () => new Date(), prefix: r.unique('lag'), orderBase: 940000000000000000n }));
  const chart = page.locator(`.chart[data-group="${lagGroup} · ${s.topics.orders}"]`);
  await until(async () => Number((await chart.getAttribute('data-lag')) ?? 0) >= 3000, 60_000);
  await shot('lag-behind');
  // A second aggregation group over the same events: every item is already there, so it only catches up.
  await startInProcess(r, { ...settlementAggregation(s.ids, s.topics.orders, s.topics.commission), group: lagGroup }, s);
  await until(async () => (await chart.getAttribute('data-lag')) === '0', 120_000);
  expect(Number(await chart.getAttribute('data-max'))).toBeGreaterThanOrEqual(3000);
  await chart.locator('.status-OK').waitFor();
  await shot('lag');
}, 180_000);

test('a dead-lettered commission request is replayed from the DLQ tab once its rule exists', async () => {
  // No MY rule yet: the commission processor dead-letters the request with STS_COMMISSION_RULE_MISSING.
  const [event] = orderStream({ orders: 1, sellers: 1, occurredAt: () => new Date(), prefix: r.unique('dlq'), orderBase: 950000000000000000n }).map((e) => ({ ...e, region: 'MY', currency: 'MYR' }));
  await s.produce([event!]);
  await page.click('nav button[data-tab="dlq"]');
  await page.fill('#dlq-topic', s.topics.commission);
  const letter = page.locator('#dlq-table tbody tr', { hasText: event!.event_id });
  await letter.waitFor({ timeout: 60_000 });
  expect(await letter.textContent()).toContain('STS_COMMISSION_RULE_MISSING');
  await addRule(s.db, { region: 'MY', category: '*', rateBps: 300, effectiveFrom: new Date('2020-01-01T00:00:00Z') }, 'test');
  await letter.locator('button[data-replay]').click();
  await page.waitForSelector('#dlq-msg:has-text("replayed")');
  const fee = async () => (await s.db('billing_item').where({ source: 'COMMISSION', source_ref: `${event!.event_id}:FEE` }).first()) as { amount_minor: string } | undefined;
  const deadline = Date.now() + 60_000;
  while (!(await fee()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
  const expected = -((2n * event!.amount_minor * 300n + 10_000n) / 20_000n);
  expect((await fee())?.amount_minor).toBe(expected.toString());
  await shot('dlq');
}, 180_000);

test('a reconciliation finding appears after one billing item of the closed cycle is corrupted', async () => {
  const item = (await s.db('billing_item').where({ region: 'SG', cycle_id: s.closing.cycleId.toString(), source: 'ORDER' }).orderBy('id').first()) as { id: string; shop_user_id: string };
  await s.db('billing_item').where({ id: item.id }).increment('amount_minor', 1);
  await page.click('nav button[data-tab="recon"]');
  await page.click('#recon-run');
  const entity = `SG/${s.closing.cycleId}/${item.shop_user_id}/SGD`;
  const row = page.locator(`#recon-table tr[data-finding="closed-cycle-balance|${entity}"]`);
  await row.waitFor({ timeout: 60_000 });
  expect(await row.locator('td').nth(1).textContent()).toBe('CRITICAL');
  expect(await row.locator('td').nth(3).textContent()).toMatch(/^items sum to SGD [\d,]+\.\d{2} \(\d+ items\) but payout \d{18} is SGD [\d,]+\.\d{2}$/);
  await shot('recon');
}, 120_000);

test('an upload held by its checks shows its warnings and books nothing; Confirm… asks with the warnings and books it, Cancel drops another; both audited', async () => {
  await page.click('nav button[data-tab="uploads"]');
  const asked: string[] = [];
  const onDialog = (d: { message(): string }) => void asked.push(d.message());
  page.on('dialog', onDialog);
  r.defer(() => void page.off('dialog', onDialog));
  const held: Record<'confirm' | 'cancel', string> = { confirm: '', cancel: '' };
  const booked = async (uploadId: string) => Number((await s.db('billing_item').where({ upload_id: uploadId }).count({ n: '*' }))[0]!.n);
  for (const action of ['confirm', 'cancel'] as const) {
    const file = path.join(s.dataDir, `dashboard-held-${action}.csv`);
    await writeUploadCsv(file, { rows: 300, sellers: 150, refPrefix: r.unique(`held-${action}`) });
    await page.setInputFiles('#upload-file', file);
    await page.click('#upload-form button');
    const msg = page.locator('#upload-msg');
    await msg.locator('text=/held: \\d+ warning/').waitFor();
    const id = /upload (\d+) held/.exec((await msg.textContent()) ?? '')?.[1];
    expect(id).toMatch(/^\d{15,19}$/);
    held[action] = id!;
    const warnings = page.locator(`tr[data-warnings="${id}"]`);
    expect(await warnings.textContent()).toContain('held, nothing booked until confirmed: ');
    // Counting stops past the bound: the file has 150 sellers, the warning says "at least" what it saw.
    expect(await warnings.textContent()).toMatch(/TOO_MANY_SELLERS: the file touches at least 1\d\d sellers, above the bound of 100 \(STS_UPLOAD_MAX_SELLERS\)/);
    expect(await booked(id!)).toBe(0);
    if (action === 'cancel') continue;
    await shot('upload-held');
    await page.click(`button[data-confirm-upload="${id}"]`);
    await page.waitForSelector(`#upload-msg:has-text("upload ${id} confirmed")`);
    const row = page.locator('#uploads-table tbody tr', { hasText: id! }).first();
    await row.locator('td.status-COMPLETED').waitFor({ timeout: 60_000 });
    // The rows whose order the first upload gave to another seller are rejected (SELLER_MISMATCH); every other row is booked.
    const counts = (await s.db('upload').where({ id }).first('accepted_rows', 'rejected_rows')) as { accepted_rows: string; rejected_rows: string };
    expect(Number(counts.accepted_rows) + Number(counts.rejected_rows)).toBe(300);
    expect(Number(counts.accepted_rows)).toBeGreaterThan(0);
    expect(await booked(id!)).toBe(Number(counts.accepted_rows));
    expect(await page.locator(`tr[data-warnings="${id}"]`).textContent()).toContain('confirmed by api:olga: ');
  }
  await page.click(`button[data-cancel-upload="${held.cancel}"]`);
  await page.waitForSelector(`#upload-msg:has-text("upload ${held.cancel} cancelled")`);
  expect(await s.db('upload').where({ id: held.cancel }).first('status')).toEqual({ status: 'CANCELLED' });
  expect(await booked(held.cancel)).toBe(0);
  expect(await page.locator(`button[data-confirm-upload="${held.cancel}"]`).count()).toBe(0);

  // The questions the operator answered: the confirmation names the warnings.
  expect(asked).toEqual([
    expect.stringMatching(new RegExp(`^Book upload ${held.confirm} despite:\n- the file touches at least 1\\d\\d sellers, above the bound of 100`)),
    `Cancel upload ${held.cancel}? Nothing of it has been booked.`,
  ]);
  const audit = (await s.db('ops_audit').whereIn('target', [held.confirm, held.cancel]).orderBy('id').select('actor', 'action', 'target', 'status')) as Array<Record<string, unknown>>;
  expect(audit).toEqual(
    expect.arrayContaining([
      { actor: 'api:olga', action: 'upload.confirm', target: held.confirm, status: null },
      { actor: 'api:olga', action: 'POST /uploads/:id/confirm', target: held.confirm, status: 200 },
      { actor: 'api:olga', action: 'POST /uploads/:id/cancel', target: held.cancel, status: 200 },
    ]),
  );
}, 120_000);
