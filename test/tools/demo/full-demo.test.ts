import { createDb } from '../../../runtime/db/knex';
import { withDatabase } from '../../../runtime/config';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';

/**
 * `npm run demo` at a small size: the whole story through the real CLI, on the demo's own database,
 * topics and gateway simulator, ending paid, balanced and reconciled.
 */
const r = useTestResources();

test('the demo runs orders, an upload, commission, two closes and payments on both rails (SG bank files, MY gateway) to a clean reconciliation', async () => {
  const res = await runCli(['demo', '--orders', '1500', '--sellers', '150', '--upload-rows', '1500', '--json'], {}, 400_000);
  // The demo's own last lines, if it failed: they say where.
  if (res.code !== 0) throw new Error(`demo exited ${res.code}: ${res.stderr.slice(-3000)}`);
  const s = JSON.parse(res.stdout) as {
    events: number;
    upload: { total: string; accepted: string; rejected: string };
    cycles: Array<{ region: string; payouts: Record<string, number>; files: string[] }>;
    payments: Record<string, { count: number; sumMinor: string }>;
    recon: { critical: number };
    database: string;
  };
  expect(s.events).toBeGreaterThan(3000);
  expect([s.upload.total, s.upload.accepted, s.upload.rejected]).toEqual(['1500', '1485', '15']);
  expect(s.cycles.map((c) => c.region)).toEqual(['SG', 'MY']);
  const pending = s.cycles.reduce((n, c) => n + (c.payouts.PENDING ?? 0), 0);
  const settled = Object.values(s.payments).reduce((n, p) => n + p.count, 0);
  expect(settled).toBe(pending);
  expect(s.recon.critical).toBe(0);

  // Every payable payout was paid exactly its cycle's items, and the ledger has nothing in flight.
  const db = createDb(withDatabase(r.config.mysqlUrl, s.database));
  r.defer(() => db.destroy());
  const rows = (await db.raw(
    `SELECT p.status, p.amount_minor, (SELECT CAST(SUM(i.amount_minor) AS CHAR) FROM billing_item i
       WHERE i.region = p.region AND i.cycle_id = p.cycle_id AND i.shop_user_id = p.shop_user_id AND i.currency = p.currency) AS items
     FROM payout p`,
  ))[0] as Array<{ status: string; amount_minor: string; items: string }>;
  expect(rows.length).toBeGreaterThan(0);
  for (const p of rows) expect(p.amount_minor).toBe(p.items);
  expect(rows.filter((p) => p.status === 'PENDING' || p.status === 'SUBMITTED')).toEqual([]);

  // SG paid through bank files closed by the bank's reports, MY through the gateway, never both.
  const [rails] = (await db.raw(
    `SELECT p.region, p.rail, p.status, COUNT(*) AS n, SUM(p.bank_msg_id IS NOT NULL) AS in_files, SUM(s.payout_id IS NOT NULL) AS at_gateway
       FROM payout p LEFT JOIN payout_submission s ON s.payout_id = p.id
      WHERE p.status IN ('PAID', 'FAILED') GROUP BY p.region, p.rail, p.status ORDER BY p.region`,
  )) as [Array<{ region: string; rail: string; status: string; n: number; in_files: string; at_gateway: string }>];
  const sg = rails.filter((x) => x.region === 'SG');
  const my = rails.filter((x) => x.region === 'MY');
  expect(sg.length).toBeGreaterThan(0);
  expect(my.length).toBeGreaterThan(0);
  for (const x of sg) expect([x.rail, Number(x.in_files), Number(x.at_gateway)]).toEqual(['bank-file', Number(x.n), 0]);
  for (const x of my) expect([x.rail, Number(x.in_files), Number(x.at_gateway)]).toEqual(['gateway', 0, Number(x.n)]);
  const [[reports]] = (await db.raw("SELECT COUNT(*) AS n FROM bank_report WHERE kind = 'pain.002'")) as [[{ n: number }]];
  expect(Number(reports.n)).toBeGreaterThan(0);
}, 420_000);
