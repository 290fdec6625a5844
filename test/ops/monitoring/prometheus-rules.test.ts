import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { register } from 'prom-client';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { loadConfig } from '../../../runtime/config';
import { OutboxRelay } from '../../../runtime/outbox/outbox-relay';
import { processorMetrics } from '../../../runtime/processor/processor-metrics';
import { paymentMetrics } from '../../../processors/payment-notify/payment-metrics';
import { ReconRunner } from '../../../services/recon/recon-runner';
import { createAppContext } from '../../../services/run/app-context';
import { BankRailWorker } from '../../../settlement/bank-file/bank-rail-worker';
import { CloseScheduler } from '../../../settlement/cycle-close/close-scheduler';
import { metricNamesIn, queryableNames } from '../../fixtures/promql-metric-names';
import { useTestResources } from '../../fixtures/resources';

/**
 * The alerting rules and the Grafana dashboard in ops/monitoring against the real /metrics: the
 * rules must load in Prometheus (promtool), and every metric either of them queries must be one
 * the ops API serves, so a renamed metric or a typo cannot leave an alert that never fires.
 */
const ROOT = path.resolve(__dirname, '../../..');
const RULES = path.join(ROOT, 'ops/monitoring/prometheus-rules.yml');
const DASHBOARD = path.join(ROOT, 'ops/monitoring/grafana-dashboard.json');
const VIEWER = 'viewer-token-0123456789abcdef';
const PROMTOOL_FIX =
  'promtool is missing: node bin/ensure-deps.js --monitoring (or apt-get install --no-install-recommends prometheus)';

const r = useTestResources();
let app: FastifyInstance;
let exported: Set<string>;

/**
 * `expr:` values of the rules file, one line each or a block scalar (`expr: |`). The test compares
 * their count with the rules promtool loaded, so an expression this misses fails the test.
 */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:-\s+)?expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const inline = m[2]!.trim();
    if (!/^[|>][-+]?$/.test(inline)) {
      out.push(inline.replace(/^(['"])(.*)\1$/, '$2'));
      continue;
    }
    const block: string[] = [];
    while (
      i + 1 < lines.length &&
      (lines[i + 1]!.trim() === '' ||
        (/^\s/.test(lines[i + 1]!) && lines[i + 1]!.search(/\S/) > m[1]!.length))
    )
      block.push(lines[++i]!);
    out.push(block.join('\n'));
  }
  return out;
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const walk = (panels: Panel[]): Array<{ panel: string; expr: string }> =>
    panels.flatMap((p) => [
      ...(p.targets ?? [])
        .filter((t) => t.expr)
        .map((t) => ({ panel: p.title ?? '?', expr: t.expr! })),
      ...walk(p.panels ?? []),
    ]);
  return walk(dashboard.panels);
}

function promtool(args: string[]): { status: number | null; output: string } {
  const res = spawnSync('promtool', args, { encoding: 'utf8' });
  if (res.error) throw new Error(`${PROMTOOL_FIX} (${res.error.message})`);
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

const unknownIn = (expr: string) => metricNamesIn(expr).filter((name) => !exported.has(name));

beforeAll(async () => {
  const scratch = await r.database();
  const config = { ...loadConfig(), mysqlUrl: scratch.url };
  const ctx = createAppContext(config, 'prometheus-rules-test', { logLevel: 'warn', pool: 2 });
  const logger = pino({ level: 'silent' });
  // What `sts run all` creates beside its API, built and never started: each registers its
  // metrics in the process's registry, which /metrics serves together with the lag gauges.
  processorMetrics(register);
  paymentMetrics(register);
  new OutboxRelay({ db: ctx.db, kafka: ctx.kafka, logger });
  ReconRunner.fromConfig(config, { db: ctx.db, logger });
  new CloseScheduler(
    {
      db: ctx.db,
      kafka: ctx.kafka,
      ids: await ctx.ids(),
      outbox: ctx.outbox,
      dataDir: config.dataDir,
      logger,
    },
    [],
  );
  new BankRailWorker(
    {
      db: ctx.db,
      ids: await ctx.ids(),
      outbox: ctx.outbox,
      dataDir: config.dataDir,
      outboundDir: config.bankOutboundDir,
      inboundDir: config.bankInboundDir,
      environment: config.environment,
      logger,
    },
    config.bankPollMs,
  );
  app = await buildOpsApi({ ...ctx, logger }, { tokens: `${VIEWER}:viewer:vera` });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(res.status).toBe(200);
  exported = queryableNames(await res.text());
}, 90_000);

test('promtool accepts the rules file', () => {
  const { status, output } = promtool(['check', 'rules', RULES]);
  expect(output).toContain('SUCCESS');
  expect(status).toBe(0);
});

test('every metric an alert rule queries is exported by /metrics', () => {
  const exprs = ruleExpressions(fs.readFileSync(RULES, 'utf8'));
  const loaded = Number(
    /SUCCESS: (\d+) rules found/.exec(promtool(['check', 'rules', RULES]).output)?.[1],
  );
  expect(exprs).toHaveLength(loaded);
  const unknown = exprs.flatMap((expr) => unknownIn(expr).map((name) => `${name} in: ${expr}`));
  expect(unknown).toEqual([]);
  // Each rule reads at least one sts metric, so an expression reduced to nothing is noticed.
  for (const expr of exprs)
    expect(metricNamesIn(expr).some((n) => n.startsWith('sts_'))).toBe(true);
});

test('every metric a dashboard panel queries is exported by /metrics, and each query is valid PromQL', () => {
  const queries = dashboardExpressions();
  expect(queries.length).toBeGreaterThan(20);
  const unknown = queries.flatMap((q) =>
    unknownIn(q.expr).map((name) => `${name} in panel "${q.panel}": ${q.expr}`),
  );
  expect(unknown).toEqual([]);

  // promtool parses the queries as recording rules, with Grafana's variables given values.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-dashboard-'));
  r.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const asRules = queries.map(
    (q, i) =>
      `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(q.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m'))}\n`,
  );
  const file = path.join(dir, 'dashboard-queries.yml');
  fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${asRules.join('')}`);
  const { status, output } = promtool(['check', 'rules', file]);
  expect(output).toContain(`SUCCESS: ${queries.length} rules found`);
  expect(status).toBe(0);
});

test('a misspelt or unexported metric in an expression is reported, and functions, labels and keywords are not', () => {
  expect(unknownIn('sum by (group) (sts_consumer_lagg) > 0')).toEqual(['sts_consumer_lagg']);
  expect(
    unknownIn('histogram_quantile(0.95, sum by (le) (rate(sts_outbox_publish_seconds[5m])))'),
  ).toEqual(['sts_outbox_publish_seconds']);
  const clean =
    'sum without (partition) (increase(sts_processor_dlq_total{code=~"STS_.+", processor!="x"}[15m] offset 1h)) / on (processor) group_left sum by (processor) (rate(sts_processor_records_total[$__rate_interval])) > bool 0.5 and time() - max(sts_recon_last_run_timestamp_seconds) > 1e3';
  expect(metricNamesIn(clean).sort()).toEqual([
    'sts_processor_dlq_total',
    'sts_processor_records_total',
    'sts_recon_last_run_timestamp_seconds',
  ]);
  expect(unknownIn(clean)).toEqual([]);
  expect(execFileSync('promtool', ['--version'], { encoding: 'utf8' })).toContain('promtool');
});
