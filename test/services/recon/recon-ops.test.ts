import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { loadConfig } from '../../../runtime/config';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { listFindings } from '../../../services/recon/finding-store';
import { ReconRunner } from '../../../services/recon/recon-runner';
import { createAppContext } from '../../../services/run/app-context';
import { createLogger } from '../../../runtime/logger';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { keysOf, reconDataset, SELLERS, type ReconDataset } from '../../fixtures/recon-dataset';

/**
 * The operator's side of reconciliation: `sts recon` exit codes, the API's roles and its
 * injection-proof filters, the alert webhook, the gauge, a rule that cannot run, and the ledger
 * rule's skip where the ledger tables are absent.
 */
const r = useTestResources();
const gw = useGatewayHarness();
let ds: ReconDataset;
let simUrl: string;

const VIEWER = 'viewer-token-652024209997893632';
const OPERATOR = 'operator-token-652024209997893632';

beforeAll(async () => {
  simUrl = (await gw.spawn(gw.tempDir())).url;
  ds = await reconDataset(r, simUrl);
}, 180_000);

/** The real ops API on a free port, for this database and simulator; closed after the file. */
async function opsApi(tokens: string) {
  const ctx = createAppContext(
    { ...loadConfig(), mysqlUrl: ds.url, gatewayUrl: simUrl },
    'recon-api-test',
    { logLevel: 'warn', pool: 4 },
  );
  const app = await buildOpsApi(ctx, { tokens });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  return async (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload ? { body: JSON.stringify(payload) } : {}),
    });
    const text = await res.text();
    return { statusCode: res.status, json: () => JSON.parse(text) };
  };
}

const accountWhere = `region = 'SG' AND shop_user_id = ? AND currency = 'SGD' AND cycle_id = ?`;
const bump = (by: bigint) =>
  ds.db.raw(
    `UPDATE settlement_account SET balance_minor = balance_minor + ? WHERE ${accountWhere}`,
    [by, SELLERS[0], ds.cycles[0]] as never[],
  );
const accountEntity = () => `SG/${ds.cycles[0]}/${SELLERS[0]}/SGD`;

describe('sts recon', () => {
  test('run --json exits 0 when clean, 1 while a CRITICAL finding is open; fix repairs it; list --all shows it resolved', async () => {
    const env = { STS_MYSQL_URL: ds.url, STS_GATEWAY_URL: simUrl, STS_LOG_LEVEL: 'warn' };
    const clean = await runCli(['recon', 'run', '--json'], env);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, critical: 0, open: [] });

    await bump(250n);
    const dirty = await runCli(['recon', 'run', '--json'], env);
    expect(dirty.code).toBe(1);
    const body = JSON.parse(dirty.stdout) as {
      ok: boolean;
      open: Array<{ rule: string; entity: string; severity: string; fix: string; id: string }>;
    };
    expect(body.ok).toBe(false);
    expect(body.open.map((f) => [f.rule, f.entity, f.severity, f.fix])).toEqual([
      ['open-cycle-account', accountEntity(), 'CRITICAL', 'resync-account'],
    ]);
    expect(body.open[0]!.id).toMatch(/^\d+$/); // ids as decimal strings on the wire

    const listed = await runCli(['recon', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).findings).toHaveLength(1);

    const fixed = await runCli(
      ['recon', 'fix', 'open-cycle-account', accountEntity(), '--json'],
      env,
    );
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({
      ok: true,
      fix: 'resync-account',
      resolved: true,
    });
    expect((await runCli(['recon', 'run', '--json'], env)).code).toBe(0);
    const all = JSON.parse((await runCli(['recon', 'list', '--all', '--json'], env)).stdout) as {
      findings: Array<{ entity: string; resolvedAt: string | null }>;
    };
    expect(all.findings.find((f) => f.entity === accountEntity())?.resolvedAt).toMatch(/^\d{4}-/);
  }, 120_000);
});

describe('ops API /recon', () => {
  test('viewers read findings, SQL-looking filters match nothing, only operators run and fix', async () => {
    const call = await opsApi(`${VIEWER}:viewer:vera,${OPERATOR}:operator:otto`);

    await bump(99n);
    expect((await call('POST', '/recon/run', VIEWER)).statusCode).toBe(403);
    const run = await call('POST', '/recon/run', OPERATOR);
    expect(run.statusCode).toBe(200);
    expect(keysOf(run.json().open.map((f: { firstSeen: string; lastSeen: string }) => f))).toEqual([
      `open-cycle-account ${accountEntity()}`,
    ]);

    expect((await call('GET', '/recon/findings')).statusCode).toBe(401);
    const listed = await call('GET', '/recon/findings', VIEWER);
    expect(listed.json().findings).toHaveLength(1);
    const before = await ds.db('recon_finding').count({ n: '*' });
    for (const evil of [
      "x' OR 1=1 --",
      "open-cycle-account' OR '1'='1",
      '%',
      'open-cycle-account; DROP TABLE recon_finding',
    ]) {
      const res = await call(
        'GET',
        `/recon/findings?all=true&rule=${encodeURIComponent(evil)}`,
        VIEWER,
      );
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ findings: [] });
    }
    expect(await ds.db('recon_finding').count({ n: '*' })).toEqual(before);
    expect((await call('GET', '/recon/findings?severity=BAD', VIEWER)).statusCode).toBe(400);

    const fixBody = { rule: 'open-cycle-account', entity: accountEntity() };
    expect((await call('POST', '/recon/fix', VIEWER, fixBody)).statusCode).toBe(403);
    expect(
      (
        await call('POST', '/recon/fix', OPERATOR, {
          rule: 'open-cycle-account',
          entity: 'SG/20261116/1/SGD',
        })
      ).statusCode,
    ).toBe(404);
    const fixed = await call('POST', '/recon/fix', OPERATOR, fixBody);
    expect(fixed.statusCode).toBe(200);
    expect(fixed.json()).toMatchObject({ fix: 'resync-account', resolved: true });
    // The fix is an operator action: the audit trail names who did it. The row is written once
    // the answer has gone out (ops/api/audit.ts), so it may land just after the reply is read.
    const auditRow = () => ds.db('ops_audit').where({ action: 'POST /recon/fix', status: 200 }).first('actor');
    let audit = await auditRow();
    for (let i = 0; i < 50 && audit === undefined; i++) {
      await new Promise((res) => setTimeout(res, 100));
      audit = await auditRow();
    }
    expect(audit).toMatchObject({ actor: 'api:otto' });
  });

  test('a finding without an automatic fix is refused with 409 and its detail', async () => {
    const call = await opsApi(`${OPERATOR}:operator:otto`);
    await ds.db.raw('UPDATE upload SET rejected_rows = rejected_rows + 1 WHERE id = ?', [
      ds.uploadId,
    ] as never[]);
    try {
      expect((await call('POST', '/recon/run', OPERATOR)).statusCode).toBe(200);
      const res = await call('POST', '/recon/fix', OPERATOR, {
        rule: 'upload-counts',
        entity: `upload/${ds.uploadId}`,
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: 'STS_RECON_FIX_REFUSED' });
      expect(res.json().message).toContain('upload-counts has no automatic fix');
    } finally {
      await ds.db.raw('UPDATE upload SET rejected_rows = rejected_rows - 1 WHERE id = ?', [
        ds.uploadId,
      ] as never[]);
      await call('POST', '/recon/run', OPERATOR);
    }
  });
});

describe('reconciliation runner', () => {
  test('alerts each new CRITICAL finding once, retries a failed post, and keeps the gauge', async () => {
    const posts: unknown[] = [];
    let failNext = true;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (failNext) {
          failNext = false;
          res.writeHead(502).end();
          return;
        }
        posts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((res) => hook.listen(0, '127.0.0.1', res));
    r.defer(() => new Promise((res) => hook.close(res)));
    const metrics = new Registry();
    const runner = new ReconRunner(
      { db: ds.db, logger: createLogger('recon-test', 'silent'), metrics },
      {
        gatewayUrl: simUrl,
        alertWebhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      },
    );
    r.defer(() => runner.close());

    await bump(5n);
    expect((await runner.run()).alerted).toBe(0); // the receiver failed: nothing marked as alerted
    expect((await runner.run()).alerted).toBe(1); // retried
    expect((await runner.run()).alerted).toBe(0); // kept, not new
    expect(posts).toEqual([
      expect.objectContaining({
        source: 'sts-recon',
        findings: [
          expect.objectContaining({
            rule: 'open-cycle-account',
            entity: accountEntity(),
            severity: 'CRITICAL',
          }),
        ],
      }),
    ]);
    expect(await metrics.getSingleMetricAsString('sts_recon_findings')).toContain(
      'sts_recon_findings{rule="open-cycle-account",severity="CRITICAL"} 1',
    );

    await bump(-5n);
    await runner.run();
    expect(await metrics.getSingleMetricAsString('sts_recon_findings')).not.toContain(
      'open-cycle-account',
    );
    await bump(5n); // back after being resolved: a new occurrence, alerted again
    expect((await runner.run()).alerted).toBe(1);
    await bump(-5n);
    await runner.run();
  });

  test('a rule that cannot run keeps its findings as they were and says why', async () => {
    const [[p]] = await ds.db.raw(
      `SELECT CAST(payout_id AS CHAR) AS id, payee_account AS acc FROM payout_submission s JOIN payout p ON p.id = s.payout_id WHERE p.status = 'PAID' ORDER BY p.id LIMIT 1`,
    );
    await ds.db.raw('UPDATE payout_submission SET payee_account = ? WHERE payout_id = ?', [
      'ACC-MOVED',
      BigInt(p.id),
    ] as never[]);
    const live = ds.runner();
    const [found] = (await live.run({ rules: ['gateway-report'] })).open;
    expect(found).toMatchObject({ rule: 'gateway-report', severity: 'CRITICAL' });

    // Nothing listens on the discard port; the rule's expected error log stays out of the output.
    const down = new ReconRunner(
      { db: ds.db, logger: createLogger('recon-test', 'silent'), metrics: new Registry() },
      { gatewayUrl: 'http://127.0.0.1:9' },
    );
    r.defer(() => down.close());
    const result = await down.run({ rules: ['gateway-report'] });
    expect(result.rules).toEqual([
      expect.objectContaining({
        rule: 'gateway-report',
        ok: false,
        error: expect.stringContaining('STS_GATEWAY_UNAVAILABLE'),
      }),
    ]);
    const open = await listFindings(ds.db, { rule: 'gateway-report' });
    expect(keysOf(open)).toEqual(
      [`gateway-report ${found!.entity}`, 'gateway-report recon/rule-error'].sort(),
    );
    expect(open.find((f) => f.entity === found!.entity)!.lastSeen).toEqual(found!.lastSeen); // not re-confirmed, not resolved

    await ds.db.raw('UPDATE payout_submission SET payee_account = ? WHERE payout_id = ?', [
      p.acc,
      BigInt(p.id),
    ] as never[]);
    expect((await live.run({ rules: ['gateway-report'] })).open).toEqual([]);
  });

  test('the ledger rule is skipped, with its reason, where the ledger tables do not exist', async () => {
    const { db } = await r.database();
    await db.schema.dropTable('fund_movement');
    await db.schema.dropTable('ledger_account');
    const runner = new ReconRunner(
      { db, logger: createLogger('recon-test', 'silent'), metrics: new Registry() },
      { gatewayUrl: simUrl },
    );
    r.defer(() => runner.close());
    const result = await runner.run({ rules: ['payment-ledger'] });
    expect(result.open).toEqual([
      expect.objectContaining({
        rule: 'payment-ledger',
        severity: 'INFO',
        entity: 'recon/skipped',
        detail: expect.stringContaining('ledger_account, fund_movement do not exist'),
      }),
    ]);
    expect(result.critical).toBe(0);
  });
});
