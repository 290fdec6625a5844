import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig } from '../../../runtime/config';
import { useTestResources } from '../../fixtures/resources';

/** PUT/GET /payees over real HTTP, with real tokens, on a database of the test's own. */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
/** 18-digit ids, as in production. */
const SELLER = 652024209997893632n;
const OTHER_SELLER = 652024209997893633n;
const SG_ACCOUNT = { name: 'Tan Ah Kow Trading', account: '0123456789', bank: 'DBSSSGSG' };
let db: Knex;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const scratch = await r.database();
  db = scratch.db;
  const ctx = createAppContext({ ...loadConfig(), mysqlUrl: scratch.url }, 'ops-api-payees-test', {
    logLevel: 'warn',
    pool: 4,
  });
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

interface AccountJson {
  id: string;
  shopUserId: string;
  currency: string;
  version: number;
  holderName: string;
  account: string;
  accountScheme: string;
  bankScheme: string;
  changedBy: string;
  replacedAt: string | null;
  current: boolean;
}

test('an operator registers an account: 200, version 1, ids as strings; the same details again change nothing', async () => {
  const res = await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, SG_ACCOUNT);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { changed: boolean; account: AccountJson };
  expect(body.changed).toBe(true);
  expect(body.account).toMatchObject({
    shopUserId: SELLER.toString(),
    currency: 'SGD',
    version: 1,
    holderName: SG_ACCOUNT.name,
    accountScheme: 'OTHER',
    bankScheme: 'BIC',
    changedBy: 'api:otto',
    replacedAt: null,
    current: true,
  });
  expect(body.account.id).toMatch(/^\d+$/);

  const again = await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, SG_ACCOUNT);
  expect(again.status).toBe(200);
  expect(await again.json()).toMatchObject({
    changed: false,
    account: { id: body.account.id, version: 1 },
  });
  const [{ n }] = (await db('payee_account')
    .where({ shop_user_id: SELLER.toString() })
    .count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(1);
});

test('an account a bank would bounce is refused with 400 STS_PAYEE_INVALID and says why', async () => {
  // A German account is an IBAN with mod-97 check digits; the last digit is mistyped.
  const res = await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, {
    name: 'Tan GmbH',
    account: 'DE89 3704 0044 0532 0130 01',
    bank: 'COBADEFFXXX',
    country: 'DE',
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: string; message: string; fix: string };
  expect(body.error).toBe('STS_PAYEE_INVALID');
  expect(body.message).toContain('check digits');
  expect(body.fix).toContain('DE');

  // Refused, not bent to fit: an unknown (misspelt) field, a number where the account's digits
  // belong, a missing field, a seller past int64.
  const misspelt = await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, {
    ...SG_ACCOUNT,
    contry: 'DE',
  });
  expect(misspelt.status).toBe(400);
  expect(await misspelt.json()).toMatchObject({
    error: 'STS_VALIDATION_FAILED',
    message: expect.stringContaining('"contry"'),
  });
  // Sent as text: the JSON number has more digits than a double holds.
  const numeric = await fetch(`${base}/payees/${SELLER}/SGD`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: '{"name":"Tan","account":12345678901234567890,"bank":"DBSSSGSG"}',
  });
  expect(numeric.status).toBe(400);
  expect(((await numeric.json()) as { message: string }).message).toContain(
    'not a JSON string: account',
  );
  expect(
    (await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, { name: 'x', account: 'y' })).status,
  ).toBe(400);
  const tooBig = await call('PUT', '/payees/9223372036854775808/SGD', OPERATOR, SG_ACCOUNT);
  expect(tooBig.status).toBe(400);
  expect(await tooBig.json()).toMatchObject({ error: 'STS_VALIDATION_FAILED' });
  expect((await call('PUT', `/payees/${SELLER}/XXX`, OPERATOR, SG_ACCOUNT)).status).toBe(400);
  const [{ n }] = (await db('payee_account').count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(1);
});

test('a viewer cannot change an account (403), and nothing is written', async () => {
  const res = await call('PUT', `/payees/${SELLER}/SGD`, VIEWER, {
    ...SG_ACCOUNT,
    account: '9999999999',
  });
  expect(res.status).toBe(403);
  expect(await res.json()).toMatchObject({ error: 'STS_FORBIDDEN' });
  const current = (await db('payee_account')
    .where({ shop_user_id: SELLER.toString() })
    .whereNull('replaced_at')
    .first('account')) as { account: string };
  expect(current.account).toBe(SG_ACCOUNT.account);
});

test('a change adds a version; the history shows both, newest first, the current one marked', async () => {
  const res = await call('PUT', `/payees/${SELLER}/SGD`, OPERATOR, {
    ...SG_ACCOUNT,
    account: '0123-456-789-0',
  });
  expect(await res.json()).toMatchObject({
    changed: true,
    account: { version: 2, account: '0123-456-789-0', current: true },
  });

  const history = await call('GET', `/payees/${SELLER}`, VIEWER);
  expect(history.status).toBe(200);
  const body = (await history.json()) as { shopUserId: string; accounts: AccountJson[] };
  expect(body.shopUserId).toBe(SELLER.toString());
  expect(body.accounts.map((a) => [a.version, a.account, a.current])).toEqual([
    [2, '0123-456-789-0', true],
    [1, SG_ACCOUNT.account, false],
  ]);
  expect(body.accounts[1]!.replacedAt).not.toBeNull();

  const none = (await (await call('GET', `/payees/${SELLER}?currency=MYR`, VIEWER)).json()) as {
    accounts: unknown[];
  };
  expect(none.accounts).toEqual([]);
  expect((await call('GET', '/payees/12abc', VIEWER)).status).toBe(400);
});

test('the list pages by seller and never splits one seller across pages', async () => {
  await call('PUT', `/payees/${SELLER}/MYR`, OPERATOR, {
    name: 'Tan Sdn Bhd',
    account: '5140 1234 5678',
    bank: 'MBBEMYKL',
  });
  await call('PUT', `/payees/${OTHER_SELLER}/SGD`, OPERATOR, {
    ...SG_ACCOUNT,
    name: 'Lim Pte Ltd',
  });

  const first = (await (await call('GET', '/payees?limit=1', VIEWER)).json()) as {
    accounts: AccountJson[];
    next: string | null;
  };
  expect(first.accounts.map((a) => [a.shopUserId, a.currency, a.version])).toEqual([
    [SELLER.toString(), 'MYR', 1],
    [SELLER.toString(), 'SGD', 2],
  ]);
  expect(first.next).toBe(SELLER.toString());
  const second = (await (
    await call('GET', `/payees?limit=1&after=${first.next}`, VIEWER)
  ).json()) as { accounts: AccountJson[]; next: string | null };
  expect(second.accounts.map((a) => a.shopUserId)).toEqual([OTHER_SELLER.toString()]);
  expect(second.next).toBeNull();

  const sgd = (await (await call('GET', '/payees?currency=SGD', VIEWER)).json()) as {
    accounts: AccountJson[];
  };
  expect(sgd.accounts.map((a) => a.shopUserId)).toEqual([
    SELLER.toString(),
    OTHER_SELLER.toString(),
  ]);
});

test('every PUT is in the audit table with the caller, the input and the status', async () => {
  const rows = (await db('ops_audit')
    .where({ action: 'PUT /payees/:seller/:currency' })
    .orderBy('id')) as Array<{ actor: string; role: string; detail: string; status: number }>;
  expect(rows.length).toBeGreaterThanOrEqual(5);
  expect(rows[0]).toMatchObject({ actor: 'api:otto', role: 'operator', status: 200 });
  expect(JSON.parse(rows[0]!.detail)).toMatchObject({ body: SG_ACCOUNT });
  expect(rows.map((r) => r.status)).toEqual(expect.arrayContaining([400, 403]));
});

test('the OpenAPI document describes the payee and payout routes', async () => {
  const spec = (await (await fetch(`${base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { description?: string }>>;
  };
  for (const [path, method] of [
    ['/payees', 'get'],
    ['/payees/{seller}', 'get'],
    ['/payees/{seller}/{currency}', 'put'],
    ['/payouts/{id}', 'get'],
    ['/payouts/{id}/release', 'post'],
    ['/payouts/{id}/cancel', 'post'],
  ] as const) {
    expect(spec.paths[path]?.[method]?.description).toEqual(expect.any(String));
  }
});
