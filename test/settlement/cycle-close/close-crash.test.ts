import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { appendBillingItems, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import { useTestResources } from '../../fixtures/resources';
import { runCli } from '../../fixtures/cli';
import { leaseRow } from '../../fixtures/contenders';
import { waitFor } from '../../fixtures/processor-harness';
import { uploadSetup } from '../../fixtures/upload-harness';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { registerSyntheticPayees } from '../../../tools/demo/synthetic-payees';

/**
 * `sts settle close` killed with SIGKILL in the middle of creating payouts, then run again: the
 * second run finishes the job, and the result is exactly what one uninterrupted close gives. The
 * killed close's region lease holds the region until it expires (docs/ARCHITECTURE.md, "Scaling
 * out"), so the second run starts after that.
 */
const r = useTestResources();
const SELLERS = 30_000;

test('a close killed mid-snapshot is finished by the next run, with one payout and one event per seller', async () => {
  const s = await uploadSetup(r, 1);
  const current = cycleIdFor('SG', new Date());
  const closing = cycleBounds('SG', cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1)));
  const expected = new Map<bigint, bigint>();
  for (let base = 0; base < SELLERS; base += 10_000) {
    const items: BillingItemInput[] = [];
    for (let i = base; i < base + 10_000; i++) {
      const seller = 652024209990000000n + BigInt(i);
      const amount = BigInt((i % 997) * 13 - 2000);
      expected.set(seller, amount);
      items.push({ id: s.ids.next(), region: 'SG', shopUserId: seller, currency: 'SGD', amountMinor: amount === 0n ? 1n : amount, itemType: 'ADJUSTMENT', source: 'UPLOAD', sourceRef: `crash-${i}`, cycleId: closing.cycleId });
      if (amount === 0n) expected.set(seller, 1n);
    }
    await s.db.transaction((trx) => appendBillingItems(trx, items));
    await registerSyntheticPayees(s.db, items.map((i) => i.shopUserId), 'SGD', 'cli:test');
  }
  // The watermark has passed: the crash under test is in the steps after it.
  await ensureCycle(s.db, 'SG', closing.cycleId);
  await s.db('settlement_cycle').where({ region: 'SG', cycle_id: closing.cycleId.toString() }).update({ status: 'CLOSING' });

  const env = { STS_MYSQL_URL: s.url, STS_DATA_DIR: s.dataDir };
  const args = ['settle', 'close', '--region', 'SG', '--cutoff', closing.cutoffAt.toISOString()];
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'sts.js'), ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no progress line from the close')), 120_000);
    child.stderr.on('data', (d: Buffer) => {
      if (/payouts created/.test(d.toString())) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((res) => child.on('exit', res));
  const [{ partial }] = (await s.db('payout').count({ partial: '*' })) as [Record<string, string>];
  expect(Number(partial)).toBeGreaterThan(0);
  expect(Number(partial)).toBeLessThan(SELLERS);
  // The dead close still holds the region for the rest of its lease's TTL; then it is free.
  expect(await leaseRow(s.db, 'sts.close.SG')).toMatchObject({ expired: false });
  await waitFor('the killed close lease to expire', async () => (await leaseRow(s.db, 'sts.close.SG'))!.expired, 30_000, 100);

  const rerun = await runCli([...args, '--json'], env, 300_000);
  expect(rerun.code).toBe(0);
  const summary = JSON.parse(rerun.stdout) as { payoutsCreated: number; files: Array<{ path: string; status: string }> };
  expect(summary.payoutsCreated).toBe(SELLERS - Number(partial));

  const payouts = (await s.db('payout').select('shop_user_id', 'amount_minor', 'status', 'id')) as Array<{ shop_user_id: string; amount_minor: string; status: string; id: string }>;
  expect(payouts).toHaveLength(SELLERS);
  for (const p of payouts) expect(BigInt(p.amount_minor)).toBe(expected.get(BigInt(p.shop_user_id)));
  const [{ events }] = (await s.db('outbox').where({ topic: 'sts.payouts.v1' }).count({ events: '*' })) as [Record<string, string>];
  expect(Number(events)).toBe(SELLERS);
  const carried = payouts.filter((p) => p.status === 'CARRIED_FORWARD');
  const [{ cf }] = (await s.db('billing_item').where({ source: 'CARRY_FORWARD' }).count({ cf: '*' })) as [Record<string, string>];
  expect(Number(cf)).toBe(carried.length);
  const cycle = await s.db('settlement_cycle').where({ region: 'SG', cycle_id: closing.cycleId.toString() }).first();
  expect(cycle.status).toBe('CLOSED');
  expect(summary.files.map((f) => f.status)).toEqual(['RELEASED']);
  expect((await verifyPayoutFile(summary.files[0]!.path, s.db)).ok).toBe(true);
}, 600_000);
