import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildOpsApi } from '../../ops/api/ops-api';
import { createAppContext } from '../../ops/run/app-context';
import { loadConfig, PROJECT_ROOT } from '../../runtime/config';
import { useTestResources } from '../helpers/resources';
import { settlementSetup } from '../settlement/close-harness';
import { orderStream } from '../settlement/order-stream';
import { writeUploadCsv } from '../fixtures/upload-files';
import { launchBrowser } from './browser';

/**
 * The dashboard in real headless Chromium against the real ops API and pipeline: sign in, upload a
 * file and watch it reach 100%, close a cycle with the confirmation. Screenshots go to docs/.
 */
const r = useTestResources();
const OPERATOR = 'dashboard-operator-0123456789';
let page: Page;
let s: Awaited<ReturnType<typeof settlementSetup>>;
let app: FastifyInstance;

beforeAll(async () => {
  s = await settlementSetup(r);
  await s.startPipeline();
  const ctx = createAppContext({ ...loadConfig(), mysqlUrl: s.url, dataDir: s.dataDir }, 'dashboard-test', { logLevel: 'warn' });
  app = await buildOpsApi(ctx, { tokens: `${OPERATOR}:operator:olga`, intake: { topic: s.topic }, close: { plan: s.plan, payoutsTopic: s.topics.payouts } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const browser = await launchBrowser(r);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => void d.accept());
  await page.goto(base);
}, 120_000);

const shot = (name: string) => page.screenshot({ path: path.join(PROJECT_ROOT, 'docs', 'screenshots', `${name}.png`), fullPage: true });

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
  await page.click('#close-form button');
  await page.waitForSelector('#close-msg:has-text("closed:")', { timeout: 120_000 });
  const row = page.locator(`#cycles-table tr[data-cycle="SG/${s.closing.cycleId}"]`);
  await row.locator('td.status-CLOSED').waitFor();
  await row.locator('text=SGD RELEASED').waitFor();
  await row.locator('[data-verify]').click();
  await row.locator('.verify:has-text("verify passed")').waitFor();
  await shot('cycles');
  const audit = await s.db('ops_audit').select('actor', 'action', 'status').orderBy('id');
  expect(audit).toEqual(
    expect.arrayContaining([
      { actor: 'api:olga', action: 'POST /uploads', status: 202 },
      { actor: 'api:olga', action: 'POST /cycles/close', status: 200 },
    ]),
  );
}, 180_000);
