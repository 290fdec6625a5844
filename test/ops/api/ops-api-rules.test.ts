import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig } from '../../../runtime/config';
import { useTestResources } from '../../fixtures/resources';

/** POST/GET /rules over real HTTP: warnings answer 409 and write nothing until confirmed, and the confirmation is audited. */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const DAY = 86_400_000;
let db: Knex;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const scratch = await r.database();
  db = scratch.db;
  const ctx = createAppContext(
    { ...loadConfig(), mysqlUrl: scratch.url, ruleRateWarnBps: 150 },
    'ops-api-rules-test',
    { logLevel: 'warn', pool: 4 },
  );
  app = await buildOpsApi(
    { ...ctx, logger: pino({ level: 'silent' }) },
    { tokens: `${VIEWER}:viewer:vera,${OPERATOR}:operator:otto` },
  );
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
}, 60_000);

const call = (method: string, path: string, token: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString();
const confirmations = async () =>
  (await db('ops_audit')
    .where({ action: 'commission-rule.confirm-warnings' })
    .orderBy('id')) as Array<{ actor: string; role: string; target: string; detail: string }>;

test('a rule without warnings is written at once (201); a viewer may list but not add', async () => {
  const res = await call('POST', '/rules', OPERATOR, {
    region: 'MY',
    category: 'toys',
    rateBps: 400,
    maxMinor: '652024209997893632',
    effectiveFrom: inDays(2),
  });
  expect(res.status).toBe(201);
  expect(((await res.json()) as { rule: unknown }).rule).toMatchObject({
    region: 'MY',
    category: 'toys',
    version: 1,
    maxMinor: '652024209997893632',
    createdBy: 'api:otto',
  });
  expect(
    (
      await call('POST', '/rules', VIEWER, {
        region: 'MY',
        category: 'toys2',
        rateBps: 400,
        effectiveFrom: inDays(2),
      })
    ).status,
  ).toBe(403);
  const listed = (await (await call('GET', '/rules?region=MY', VIEWER)).json()) as {
    rules: Array<{ category: string }>;
  };
  expect(listed.rules.map((x) => x.category)).toEqual(['toys']);
  expect(await confirmations()).toEqual([]);
});

test('a rate jump and a retroactive start answer 409 with the warnings and write nothing; confirmed, the rule and an audit row with the warnings are written', async () => {
  await call('POST', '/rules', OPERATOR, {
    region: 'SG',
    category: 'phones',
    rateBps: 300,
    effectiveFrom: inDays(-30),
    effectiveTo: inDays(-10),
    confirm: true,
  });
  const before = await confirmations();
  const body = { region: 'SG', category: 'phones', rateBps: 500, effectiveFrom: inDays(-10) };

  const refused = await call('POST', '/rules', OPERATOR, body);
  expect(refused.status).toBe(409);
  const answer = (await refused.json()) as {
    error: string;
    fix: string;
    warnings: Array<{ kind: string; changeBps?: number; boundBps?: number }>;
  };
  expect(answer.error).toBe('STS_COMMISSION_RULE_UNCONFIRMED');
  expect(answer.fix).toMatch(/"confirm": true/);
  expect(answer.warnings.map((w) => w.kind)).toEqual(['RATE_JUMP', 'RETROACTIVE']);
  expect(answer.warnings[0]).toMatchObject({ changeBps: 200, boundBps: 150 });
  expect(
    Number(
      (
        (await db('commission_rule')
          .where({ region: 'SG', category: 'phones' })
          .count({ n: '*' })) as [{ n: number }]
      )[0].n,
    ),
  ).toBe(1);
  expect(await confirmations()).toEqual(before);

  const confirmed = await call('POST', '/rules', OPERATOR, { ...body, confirm: true });
  expect(confirmed.status).toBe(201);
  const { rule } = (await confirmed.json()) as { rule: { id: string; version: number } };
  expect(rule.version).toBe(2);
  const rows = await confirmations();
  expect(rows).toHaveLength(before.length + 1);
  const row = rows[rows.length - 1]!;
  expect(row).toMatchObject({ actor: 'api:otto', role: 'operator', target: rule.id });
  const detail = JSON.parse(row.detail) as {
    rule: { version: number };
    warnings: Array<{ kind: string; message: string }>;
  };
  expect(detail.rule.version).toBe(2);
  expect(detail.warnings.map((w) => w.kind)).toEqual(['RATE_JUMP', 'RETROACTIVE']);
  expect(detail.warnings[0]!.message).toMatch(/\+200 bps .* beyond the 150 bps bound/);
  // The request itself is in the audit log too, as every operator action is.
  expect(
    Number(
      (
        (await db('ops_audit').where({ action: 'POST /rules', status: 409 }).count({ n: '*' })) as [
          { n: number },
        ]
      )[0].n,
    ),
  ).toBe(1);
});

test('a malformed rule answers 400 and an overlapping one 409, with the error codes', async () => {
  const bad = await call('POST', '/rules', OPERATOR, {
    region: 'SG',
    category: 'x',
    rateBps: 10_001,
    effectiveFrom: inDays(1),
  });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: string }).error).toBe('STS_COMMISSION_RULE_INVALID');
  await call('POST', '/rules', OPERATOR, {
    region: 'PH',
    category: 'x',
    rateBps: 100,
    effectiveFrom: inDays(1),
  });
  const overlap = await call('POST', '/rules', OPERATOR, {
    region: 'PH',
    category: 'x',
    rateBps: 100,
    effectiveFrom: inDays(2),
  });
  expect(overlap.status).toBe(409);
  expect(((await overlap.json()) as { error: string }).error).toBe('STS_COMMISSION_RULE_OVERLAP');
});
