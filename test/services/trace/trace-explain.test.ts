import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../../runtime/config';
import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import { createAppContext, type AppContext } from '../../../services/run/app-context';
import { traceOf } from '../../../services/trace/trace-assembler';
import type { TraceQuery } from '../../../services/trace/trace-types';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { useTestResources } from '../../fixtures/resources';
import { runCli } from '../../fixtures/cli';

/**
 * docs/DESIGN.md, lesson 9, for `sts trace`: every statement a trace runs (captured from knex's
 * 'query' event, for each kind of query) is EXPLAINed on a table of several regions, cycles and
 * sellers, and must read the big tables through a key, never a full table scan (ALL) or a full
 * index scan (index). Also: an unknown id is STS_NOT_FOUND in the service, exit 1 in the CLI and
 * 404 in the API.
 */
const r = useTestResources();
let db: Knex;
let url: string;
let ctx: AppContext;
let app: FastifyInstance;
let base: string;
const VIEWER = 'viewer-token-trace-0123456789';

const REGIONS = ['SG', 'MY', 'TH'];
const CYCLES = [20261019n, 20261026n, 20261102n, 20261109n];
const SELLERS = 150;
const SELLER0 = 652024209990000000n;
const ITEM0 = 652024209000000000n;
const PAYOUT0 = 652024209500000000n;
const ORDER0 = 710000000000000000n;
const BIG_TABLES = new Set(['billing_item', 'payout', 'settlement_account', 'fund_movement', 'tcc_state', 'payout_submission', 'commission_charge', 'commission_clawback', 'recon_finding', 'ops_audit', 'upload']);

beforeAll(async () => {
  ({ db, url } = await r.database());
  let item = ITEM0;
  let payout = PAYOUT0;
  let order = ORDER0;
  const items: Array<Record<string, unknown>> = [];
  const accounts: Array<Record<string, unknown>> = [];
  const payouts: Array<Record<string, unknown>> = [];
  const moves: Array<Record<string, unknown>> = [];
  const charges: Array<Record<string, unknown>> = [];
  const findings: Array<Record<string, unknown>> = [];
  const audits: Array<Record<string, unknown>> = [];
  for (const region of REGIONS)
    for (const cycle of CYCLES)
      for (let s = 0; s < SELLERS; s++) {
        const seller = (SELLER0 + BigInt(s)).toString();
        for (let k = 0; k < 4; k++) {
          order++;
          const upload = k === 3;
          items.push({
            id: (item++).toString(), region, shop_user_id: seller, currency: 'SGD', amount_minor: '1000', item_type: upload ? 'ADJUSTMENT' : 'ORDER_INCOME',
            source: upload ? 'UPLOAD' : 'ORDER', source_ref: `r-${item}`, order_id: order.toString(), cycle_id: cycle.toString(), late: false,
            event_topic: upload ? null : 'sts.order-events.v1', event_partition: upload ? null : 1, event_offset: upload ? null : item.toString(),
            upload_id: upload ? '652024209777000001' : null, upload_row: upload ? String(s + 1) : null,
          });
          if (!upload) charges.push({ region, order_id: order.toString(), shop_user_id: seller, currency: 'SGD', request_id: `r-${item}`, rule_id: '1', rule_version: 1, rule_category: '*', order_amount_minor: '1000', fee_minor: '25', affiliate_credit_minor: '0' });
        }
        accounts.push({ region, shop_user_id: seller, currency: 'SGD', cycle_id: cycle.toString(), balance_minor: '4000', item_count: 4 });
        const id = (payout++).toString();
        payouts.push({ id, cycle_id: cycle.toString(), region, shop_user_id: seller, currency: 'SGD', amount_minor: '4000', status: 'PAID', rail: 'gateway', attempts: 1, gateway_reference: `GW${id.slice(-12)}` });
        for (const phase of ['ACCRUE', 'TRY', 'CONFIRM']) moves.push({ tx_id: id, phase, debit_account: 'X', credit_account: 'Y', currency: 'SGD', amount_minor: '4000', resolves_tx_id: phase === 'CONFIRM' ? id : null });
        findings.push({ rule: 'payout-sla', severity: 'WARNING', entity: `${region}/${cycle}/payout/${id}`, detail: 'x', first_seen: new Date(), last_seen: new Date() });
        audits.push({ actor: 'cli:test', action: 'payout.release', target: id, detail: '{}' });
      }
  const insert = async (table: string, rows: Array<Record<string, unknown>>) => {
    for (let i = 0; i < rows.length; i += 2000) await db(table).insert(rows.slice(i, i + 2000));
  };
  await insert('billing_item', items);
  await insert('settlement_account', accounts);
  await insert('payout', payouts);
  await insert('fund_movement', moves);
  await insert('commission_charge', charges);
  await insert('recon_finding', findings);
  await insert('ops_audit', audits);
  await db('upload').insert({ id: '652024209777000001', file_name: 'f.csv', sha256: 'a'.repeat(64), size_bytes: 1, stored_path: 'x', status: 'COMPLETED', created_by: 'test' });
  for (const t of BIG_TABLES) await db.raw(`ANALYZE TABLE ${t}`);

  ctx = createAppContext({ ...loadConfig(), mysqlUrl: url }, 'trace-api-test', { logLevel: 'silent', pool: 2 });
  app = await buildOpsApi({ ...ctx, logger: pino({ level: 'silent' }) }, { tokens: `${VIEWER}:viewer:vera` });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await ctx?.close();
});

interface PlanRow {
  table: string | null;
  type: string | null;
  key: string | null;
}

const middleSeller = (SELLER0 + 75n).toString();
const QUERIES: TraceQuery[] = [
  { kind: 'payout', id: (PAYOUT0 + 300n).toString() },
  { kind: 'seller', id: middleSeller },
  { kind: 'seller', id: middleSeller, region: 'MY', cycleId: 20261102n },
  { kind: 'order', id: (ORDER0 + 1234n).toString() },
  { kind: 'ref', id: 'r-652024209000000777' },
  { kind: 'ref', id: (PAYOUT0 + 5n).toString() },
  { kind: 'ref', id: middleSeller },
  { kind: 'ref', id: `GW${(PAYOUT0 + 42n).toString().slice(-12)}` },
];

test.each(QUERIES.map((q) => [`${q.kind} ${q.id}${q.region ? ` ${q.region}` : ''}`, q] as const))('every statement of a trace of %s reads the big tables through a key', async (_name, q) => {
  const captured: Array<{ sql: string; bindings: unknown[] }> = [];
  const onQuery = (e: { sql: string; bindings?: unknown[] }) => captured.push({ sql: e.sql, bindings: e.bindings ?? [] });
  db.on('query', onQuery);
  let result;
  try {
    result = await traceOf(db, q);
  } finally {
    db.removeListener('query', onQuery);
  }
  expect(result.steps.flatMap((s) => s.entries).length).toBeGreaterThan(0);
  expect(captured.length).toBeGreaterThan(3);
  for (const { sql, bindings } of captured) {
    const [plan] = (await db.raw(`EXPLAIN ${sql}`, bindings as never[])) as [PlanRow[]];
    for (const row of plan) {
      if (row.table === null || !BIG_TABLES.has(row.table)) continue;
      expect({ sql, table: row.table, type: row.type }).not.toMatchObject({ type: 'ALL' });
      expect({ sql, table: row.table, type: row.type }).not.toMatchObject({ type: 'index' });
      expect({ sql, table: row.table, key: row.key }).toEqual({ sql, table: row.table, key: expect.any(String) });
    }
  }
});

test('an unknown id is STS_NOT_FOUND: in the service, exit 1 in the CLI, 404 in the API', async () => {
  const unknown = '652024209999999999';
  for (const kind of ['payout', 'seller', 'order', 'ref'] as const) {
    await expect(traceOf(db, { kind, id: unknown })).rejects.toMatchObject({ code: 'STS_NOT_FOUND' });
    const res = await get(`/trace/${kind}/${unknown}`);
    expect([kind, res.status, ((await res.json()) as { error: string }).error]).toEqual([kind, 404, 'STS_NOT_FOUND']);
  }
  await expect(traceOf(db, { kind: 'seller', id: middleSeller, region: 'SG', cycleId: 20991231n })).rejects.toBeInstanceOf(StsError);
  const cli = await runCli(['trace', 'payout', unknown], { STS_MYSQL_URL: url });
  expect(cli.code).toBe(1);
  expect(cli.stderr).toContain(`error [STS_NOT_FOUND]: payout ${unknown} does not exist`);
  const json = await runCli(['trace', 'ref', 'no-such-ref', '--json'], { STS_MYSQL_URL: url });
  expect(json.code).toBe(1);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, code: 'STS_NOT_FOUND' });
  // A known payout through the API, to show the route answers with the trace (viewer role).
  const ok = await get(`/trace/payout/${PAYOUT0 + 1n}`);
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as { subject: { payoutIds: string[] } }).subject.payoutIds).toEqual([(PAYOUT0 + 1n).toString()]);
  // A gateway transfer's reference, as a seller quotes it from a bank statement, finds its payout.
  const byReference = await traceOf(db, { kind: 'ref', id: `GW${(PAYOUT0 + 42n).toString().slice(-12)}` });
  expect(byReference.subject).toMatchObject({ matchedAs: 'gateway-reference', payoutIds: [PAYOUT0 + 42n] });
  const anonymous = await fetch(`${base}/trace/payout/${PAYOUT0 + 1n}`);
  expect(anonymous.status).toBe(401);
});

const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${VIEWER}` } });
