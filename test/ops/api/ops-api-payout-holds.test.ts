import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext, type AppContext } from '../../../services/run/app-context';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { valueSubject } from '../../../runtime/topology/types';
import { useTestResources } from '../../fixtures/resources';

/**
 * Releasing and cancelling held payouts over real HTTP: the four-eyes rule between two operators,
 * the PENDING event in the outbox, the cancelled amount back in the open cycle, and refusals as
 * 409 with the reason. Payouts are seeded ON_HOLD, as a close leaves them.
 */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
/** 18-digit ids, as in production. */
const P_CHANGED = 652024209997893632n;
const P_CANCEL = 652024209997893633n;
const P_NO_PAYEE = 652024209997893634n;
const P_CARRY = 652024209997893635n;
const SELLER = 652024209997800001n;
const SELLER_2 = 652024209997800002n;
const SELLER_NO_PAYEE = 652024209997800003n;
const SELLER_DEBT = 652024209997800004n;
const PAST_CYCLE = 20261109n;
let db: Knex;
let ctx: AppContext;
let app: FastifyInstance;
let base: string;
let topics: { payouts: string; results: string };
let openCycle: bigint;
let payeeId: string;

beforeAll(async () => {
  const scratch = await r.database();
  db = scratch.db;
  // The events go to topics of the test's own, with the contracts' schemas.
  topics = { payouts: await r.topic('held-payouts', 1), results: await r.topic('held-results', 1) };
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const schema = (file: string) =>
    fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', file), 'utf8');
  await registry.register(valueSubject(topics.payouts), schema('payout.avsc'));
  await registry.register(valueSubject(topics.results), schema('payout-result.avsc'));

  ctx = createAppContext({ ...loadConfig(), mysqlUrl: scratch.url }, 'ops-api-holds-test', {
    logLevel: 'warn',
    pool: 4,
  });
  app = await buildOpsApi(
    { ...ctx, logger: pino({ level: 'silent' }) },
    {
      tokens: `${VIEWER}:viewer:vera,${ALICE}:operator:alice,${BOB}:operator:bob`,
      holds: { payoutsTopic: topics.payouts, resultsTopic: topics.results },
    },
  );
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));

  // The region's open cycle, where a cancelled payout's amount returns.
  openCycle = cycleIdFor('SG', new Date());
  await ensureCycle(db, 'SG', openCycle);

  // Alice registers the account through the API: she is then the one who changed it.
  const put = await call('PUT', `/payees/${SELLER}/SGD`, ALICE, {
    name: 'Tan Ah Kow Trading',
    account: '0123456789',
    bank: 'DBSSSGSG',
  });
  expect(put.status).toBe(200);
  payeeId = ((await put.json()) as { account: { id: string } }).account.id;
  await call('PUT', `/payees/${SELLER_2}/SGD`, ALICE, {
    name: 'Lim Pte Ltd',
    account: '9876543210',
    bank: 'OCBCSGSG',
  });

  const held = (
    id: bigint,
    seller: bigint,
    amount: bigint,
    reason: string,
    payee: string | null,
  ) => ({
    id: id.toString(),
    cycle_id: PAST_CYCLE.toString(),
    region: 'SG',
    shop_user_id: seller.toString(),
    currency: 'SGD',
    amount_minor: amount.toString(),
    status: 'ON_HOLD',
    rail: 'gateway',
    hold_reason: reason,
    payee_account_id: payee,
  });
  await db('payout').insert([
    held(P_CHANGED, SELLER, 12_345n, 'PAYEE_CHANGED', payeeId),
    held(P_CANCEL, SELLER_2, 5_000n, 'PAYEE_CHANGED', null),
    held(P_NO_PAYEE, SELLER_NO_PAYEE, 7_000n, 'NO_PAYEE_ACCOUNT', null),
    held(P_CARRY, SELLER_DEBT, -900_000n, 'CARRY_LIMIT', null),
  ]);
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

const payoutRow = async (id: bigint) =>
  (await db('payout')
    .where({ id: id.toString() })
    .first('status', 'hold_decided_by', 'payee_account_id', 'failure_code')) as {
    status: string;
    hold_decided_by: string | null;
    payee_account_id: string | number | null;
    failure_code: string | null;
  };

test('a viewer reads a held payout with the account a release would pay, amounts as decimal strings', async () => {
  const res = await call('GET', `/payouts/${P_CHANGED}`, VIEWER);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    payout: {
      id: P_CHANGED.toString(),
      status: 'ON_HOLD',
      holdReason: 'PAYEE_CHANGED',
      amountMinor: '12345',
      shopUserId: SELLER.toString(),
    },
    payee: { id: payeeId, changedBy: 'api:alice' },
    currentPayee: { id: payeeId, version: 1, changedBy: 'api:alice' },
  });
  expect((await call('GET', '/payouts/652024209997899999', VIEWER)).status).toBe(404);
  expect((await call('GET', '/payouts/1%20OR%201=1', VIEWER)).status).toBe(400);
  expect((await call('POST', `/payouts/${P_CHANGED}/release`, VIEWER)).status).toBe(403);
});

test('the operator who changed the account cannot release its payout (409); another operator can', async () => {
  const refused = await call('POST', `/payouts/${P_CHANGED}/release`, ALICE);
  expect(refused.status).toBe(409);
  const why = (await refused.json()) as { error: string; message: string; fix: string };
  expect(why.error).toBe('STS_PAYOUT_ACTION_REFUSED');
  expect(why.message).toContain('api:alice changed the payee account');
  expect(why.fix).toContain('second operator');
  expect((await payoutRow(P_CHANGED)).status).toBe('ON_HOLD');
  expect(await db('outbox').where({ event_id: `payout-released:${P_CHANGED}` })).toHaveLength(0);

  const released = await call('POST', `/payouts/${P_CHANGED}/release`, BOB);
  expect(released.status).toBe(200);
  expect(await released.json()).toMatchObject({
    payout: { id: P_CHANGED.toString(), status: 'PENDING', holdDecidedBy: 'api:bob' },
    payee: { id: payeeId },
  });
  const row = await payoutRow(P_CHANGED);
  expect(row).toMatchObject({ status: 'PENDING', hold_decided_by: 'api:bob' });
  expect(String(row.payee_account_id)).toBe(payeeId);

  const [event] = (await db('outbox').where({
    event_id: `payout-released:${P_CHANGED}`,
  })) as Array<{ topic: string; msg_key: string; payload: Buffer }>;
  expect(event).toMatchObject({ topic: topics.payouts, msg_key: SELLER.toString() });
  const { value } = await ctx.codec.decode(event!.payload);
  expect(value).toMatchObject({
    payout_id: P_CHANGED,
    status: 'PENDING',
    amount_minor: 12_345n,
    rail: 'gateway',
    hold_reason: null,
  });

  // Released once: a second release finds it PENDING.
  const twice = await call('POST', `/payouts/${P_CHANGED}/release`, BOB);
  expect(twice.status).toBe(409);
  expect(((await twice.json()) as { message: string }).message).toContain('it is PENDING');
});

test('a cancelled payout is never paid and its amount returns to the open cycle; a second cancel is 409', async () => {
  const res = await call('POST', `/payouts/${P_CANCEL}/cancel`, ALICE);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    payout: { id: P_CANCEL.toString(), status: 'CANCELLED', holdDecidedBy: 'api:alice' },
  });
  expect(await payoutRow(P_CANCEL)).toMatchObject({
    status: 'CANCELLED',
    failure_code: 'CANCELLED',
    hold_decided_by: 'api:alice',
  });

  const items = (await db('billing_item').where({
    source: 'PAYOUT_RETURN',
    source_ref: P_CANCEL.toString(),
  })) as Array<Record<string, unknown>>;
  expect(items).toHaveLength(1);
  expect(items[0]).toMatchObject({ region: 'SG', currency: 'SGD', item_type: 'PAYOUT_RETURN' });
  expect(String(items[0]!.cycle_id)).toBe(openCycle.toString());
  expect(String(items[0]!.shop_user_id)).toBe(SELLER_2.toString());
  expect(String(items[0]!.amount_minor)).toBe('5000');
  expect(await db('outbox').where({ topic: topics.results })).toHaveLength(1);

  const again = await call('POST', `/payouts/${P_CANCEL}/cancel`, BOB);
  expect(again.status).toBe(409);
  expect(await again.json()).toMatchObject({ error: 'STS_PAYOUT_ACTION_REFUSED' });
  expect(await db('billing_item').where({ source: 'PAYOUT_RETURN' })).toHaveLength(1);
});

test('a payout whose seller has no payee account, or that holds a debt, is not released (409)', async () => {
  const res = await call('POST', `/payouts/${P_NO_PAYEE}/release`, BOB);
  expect(res.status).toBe(409);
  const why = (await res.json()) as { error: string; message: string; fix: string };
  expect(why).toMatchObject({ error: 'STS_PAYOUT_ACTION_REFUSED' });
  expect(why.message).toContain('no payee account');
  expect(why.fix).toContain(`sts payees set --seller ${SELLER_NO_PAYEE}`);
  expect((await payoutRow(P_NO_PAYEE)).status).toBe('ON_HOLD');

  for (const action of ['release', 'cancel']) {
    const carry = await call('POST', `/payouts/${P_CARRY}/${action}`, BOB);
    expect(carry.status).toBe(409);
    expect(((await carry.json()) as { message: string }).message).toContain('debt too large');
  }
  expect((await call('POST', '/payouts/652024209997899999/cancel', BOB)).status).toBe(404);
});

test('each release and cancel is audited with the payout as target', async () => {
  const rows = (await db('ops_audit')
    .whereIn('action', ['POST /payouts/:id/release', 'POST /payouts/:id/cancel'])
    .orderBy('id')) as Array<{ actor: string; target: string; status: number; action: string }>;
  expect(rows).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        actor: 'api:alice',
        action: 'POST /payouts/:id/release',
        target: P_CHANGED.toString(),
        status: 409,
      }),
      expect.objectContaining({
        actor: 'api:bob',
        action: 'POST /payouts/:id/release',
        target: P_CHANGED.toString(),
        status: 200,
      }),
      expect.objectContaining({
        actor: 'api:alice',
        action: 'POST /payouts/:id/cancel',
        target: P_CANCEL.toString(),
        status: 200,
      }),
    ]),
  );
});
