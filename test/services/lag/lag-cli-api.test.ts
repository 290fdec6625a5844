import type { FastifyInstance } from 'fastify';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { settlementTopology } from '../../../topologies/settlement';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { consumeUpTo, produceStamped } from '../../fixtures/lag-harness';

/** `sts lag --json` as an operator runs it, and GET /lag and /metrics with real tokens. */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';

interface LagJson {
  at: string;
  groups: Array<{
    group: string;
    topic: string;
    status: string;
    lag: string;
    partitions: Array<{
      partition: number;
      committed: string | null;
      lag: string;
      lagSeconds: number;
      status: string;
    }>;
  }>;
}

test('sts lag --json covers every processor group of the topology, committed or not, plus --target', async () => {
  const topic = await r.topic('lag-cli', 2);
  const group = r.group('lag-cli');
  await produceStamped(r.kafka, topic, 9, Date.now() - 30_000, 1000);
  const consumer = await consumeUpTo(r, group, topic, 5n);
  await consumer.disconnect();

  const res = await runCli(['lag', '--json', '--interval', '300', '--target', `${group}:${topic}`]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const report = JSON.parse(res.stdout) as LagJson;
  for (const p of settlementTopology.processors) {
    const g = report.groups.find((x) => x.group === p.group);
    expect(g).toMatchObject({ topic: p.input });
    expect(g!.partitions).toHaveLength(
      settlementTopology.topics.find((t) => t.name === p.input)!.partitions,
    );
    expect(['OK', 'WARNING', 'STALLED', 'STOPPED', 'REBALANCING']).toContain(g!.status);
  }
  const mine = report.groups.find((x) => x.group === group)!;
  expect(mine).toMatchObject({ topic, status: 'STOPPED', lag: '4' });
  expect(mine.partitions.map((p) => [p.partition, p.committed, p.lag])).toEqual([
    [0, '5', '4'],
    [1, null, '0'],
  ]);

  const text = await runCli(['lag', '--interval', '200', '--target', `${group}:${topic}`]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(
    new RegExp(
      `${group.replace(/\./g, '\\.')}\\s+${topic.replace(/\./g, '\\.')}\\s+Empty, 0 members\\s+STOPPED\\s+lag 4`,
    ),
  );
  expect(text.stdout).toContain('sts.settlement-aggregation');
});

describe('ops API', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const { url } = await r.database();
    const ctx = createAppContext({ ...r.config, mysqlUrl: url }, 'lag-api-test', {
      logLevel: 'warn',
    });
    app = await buildOpsApi(ctx, { tokens: `${VIEWER}:viewer:vera` });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    r.defer(async () => (await app.close(), await ctx.close()));
  });

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  test('GET /lag needs a viewer token and answers with every topology group', async () => {
    expect((await get('/lag')).status).toBe(401);
    const res = await get('/lag', VIEWER);
    expect(res.status).toBe(200);
    const body = (await res.json()) as LagJson;
    expect(body.groups.map((g) => g.group).sort()).toEqual(
      settlementTopology.processors.map((p) => p.group).sort(),
    );
    for (const g of body.groups) expect(typeof g.lag).toBe('string');
  });

  test('GET /metrics exports the lag gauges in Prometheus text, with the status enum in HELP', async () => {
    expect((await get('/metrics')).status).toBe(401);
    const res = await get('/metrics', VIEWER);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain(
      '# HELP sts_consumer_status Lag status by Burrow-style rules: 0=OK, 1=WARNING, 2=STALLED, 3=STOPPED, 4=REBALANCING, 5=UNKNOWN.',
    );
    expect(text).toMatch(
      /^sts_consumer_lag\{group="sts\.commission",topic="sts\.commission-requests\.v1",partition="11"\} \d+$/m,
    );
    expect(text).toMatch(
      /^sts_consumer_lag_seconds\{group="sts\.payment-notify",topic="sts\.payouts\.v1",partition="0"\} [\d.]+$/m,
    );
    expect(text).toMatch(
      /^sts_consumer_status\{group="sts\.upload-ingestion",topic="sts\.upload-chunks\.v1",partition="3"\} [0-5]$/m,
    );
  });
});
