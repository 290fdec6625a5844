import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { setPayee } from '../../../runtime/payees/payee-registry';
import { valueSubject } from '../../../runtime/topology/types';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { previewClose } from '../../../settlement/cycle-close/close-preview';
import type { AccountDecision } from '../../../settlement/cycle-close/payout-decisions';
import { syntheticPayee } from '../../../tools/demo/synthetic-payees';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { seedPayouts } from '../../fixtures/seed-payouts';
import { uploadSetup } from '../../fixtures/upload-harness';

/**
 * `sts settle close --preview` on a seeded cycle: it writes nothing, it shows exactly the payouts,
 * carry-forwards and holds the close then makes, and it flags what is far from the last closed
 * cycles (a total twenty times theirs, a seller paid two hundred times its usual, too many holds).
 */
const r = useTestResources();
/** 18-digit ids, as in production. */
const BASE = 652024209997820000n;
const SELLER = {
  steady: [BASE + 1n, BASE + 2n, BASE + 3n, BASE + 4n, BASE + 5n],
  jump: BASE + 6n,
  small: BASE + 7n,
  debt: BASE + 8n,
  noPayee: BASE + 9n,
  held: BASE + 10n,
};
const CLOSING_AMOUNT = new Map<bigint, bigint>([
  ...SELLER.steady.map((s, i): [bigint, bigint] => [s, 10_000n + BigInt(i)]),
  [SELLER.jump, 2_000_000n],
  [SELLER.small, 50n],
  [SELLER.debt, -500n],
  [SELLER.noPayee, 20_000n],
  [SELLER.held, 30_000n],
]);

async function tableState(db: Knex, region: string, cycle: bigint) {
  const count = async (table: string) =>
    Number(((await db(table).count({ n: '*' })) as [{ n: number }])[0].n);
  const status = (await db('settlement_cycle')
    .where({ region, cycle_id: cycle.toString() })
    .first('status')) as { status: string };
  return {
    payout: await count('payout'),
    outbox: await count('outbox'),
    billingItem: await count('billing_item'),
    settlementCycle: await count('settlement_cycle'),
    auditRows: await count('ops_audit'),
    status: status.status,
  };
}

test('the preview writes nothing, matches the close exactly, and flags the seeded anomalies', async () => {
  const s = await uploadSetup(r, 1);
  const payoutsTopic = await r.topic('payouts', 1);
  await s.registry.register(
    valueSubject(payoutsTopic),
    fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'),
  );
  const current = cycleIdFor('SG', new Date());
  const closing = cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1));
  await ensureCycle(s.db, 'SG', closing);

  // Four closed cycles before it, each paying the steady sellers and the jumping one 100.00 SGD.
  const history: bigint[] = [];
  for (let c = closing, i = 0; i < 4; i++) {
    c = cycleIdFor('SG', new Date(cycleBounds('SG', c).startsAt.getTime() - 1));
    history.push(c);
    await ensureCycle(s.db, 'SG', c);
    await s
      .db('settlement_cycle')
      .where({ region: 'SG', cycle_id: c.toString() })
      .update({ status: 'CLOSED' });
    await seedPayouts(
      s.db,
      [...SELLER.steady, SELLER.jump].map((seller) => ({
        id: s.ids.next(),
        shopUserId: seller,
        amountMinor: 10_000n,
        cycleId: c,
        status: 'PAID',
      })),
    );
  }
  await s.db.transaction((trx) =>
    appendBillingItems(
      trx,
      [...CLOSING_AMOUNT].map(([seller, amount], i) => ({
        id: s.ids.next(),
        region: 'SG',
        shopUserId: seller,
        currency: 'SGD',
        amountMinor: amount,
        itemType: 'ADJUSTMENT',
        source: 'TEST',
        sourceRef: `preview-${i}`,
        cycleId: closing,
      })),
    ),
  );
  for (const seller of CLOSING_AMOUNT.keys())
    if (seller !== SELLER.noPayee)
      await setPayee(s.db, seller, syntheticPayee(seller, 'SGD'), 'cli:test');
  await s
    .db('seller_hold')
    .insert({ region: 'SG', shop_user_id: SELLER.held.toString(), reason: 'fraud review' });

  const before = await tableState(s.db, 'SG', closing);
  const decided: AccountDecision[] = [];
  const preview = await previewClose(s.db, {
    region: 'SG',
    rails: {},
    payeeCooloffHours: 72,
    flags: { holds: 1 },
    onDecision: (d) => decided.push(d),
  });
  expect(await tableState(s.db, 'SG', closing)).toEqual(before);
  expect(before.status).toBe('OPEN');

  // What it says: the cycle, its totals per currency, holds, carry-forwards and the history.
  expect(preview).toMatchObject({
    region: 'SG',
    cycleId: closing,
    cycleStatus: 'OPEN',
    rail: 'gateway',
    existingPayouts: 0,
    byStatus: { PENDING: 6, ON_HOLD: 2, CARRIED_FORWARD: 2 },
  });
  const paid = 10_000n * 5n + 10n + 2_000_000n + 20_000n + 30_000n;
  expect(preview.currencies).toEqual([
    {
      currency: 'SGD',
      payouts: 8,
      totalMinor: paid,
      averageMinor: paid / 8n,
      pending: { count: 6, totalMinor: paid - 50_000n },
      onHold: { count: 2, totalMinor: 50_000n },
      carriedForward: { count: 2, totalMinor: -450n },
    },
  ]);
  expect(preview.holds.map((h) => [h.shopUserId, h.amountMinor, h.holdReason])).toEqual([
    [SELLER.noPayee, 20_000n, 'NO_PAYEE_ACCOUNT'],
    [SELLER.held, 30_000n, 'SELLER_HOLD'],
  ]);
  expect(preview.carryForwards.map((h) => [h.shopUserId, h.amountMinor])).toEqual([
    [SELLER.small, 50n],
    [SELLER.debt, -500n],
  ]);
  expect(preview.history).toEqual(
    history.map((cycleId) => ({
      cycleId,
      currency: 'SGD',
      payouts: 6,
      totalMinor: 60_000n,
      averageMinor: 10_000n,
    })),
  );
  expect(preview.anomalies.map((a) => [a.kind, a.shopUserId, a.value])).toEqual([
    ['TOTAL_OUT_OF_RANGE', null, paid],
    ['SELLER_JUMP', SELLER.jump, 2_000_000n],
    ['MANY_HOLDS', null, 2n],
  ]);

  // The CLI shows money as money and says nothing was written; --json keeps minor-unit strings.
  const env = { STS_MYSQL_URL: s.url, STS_LOG_LEVEL: 'warn', STS_PREVIEW_HOLDS: '1' };
  const text = await runCli(['settle', 'close', '--region', 'SG', '--preview'], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/nothing was written/);
  expect(text.stdout).toMatch(/^SGD: 8 payouts, total SGD 21,000\.10, average SGD 2,625\.01$/m);
  expect(text.stdout).toMatch(
    /seller 652024209997820006 would be paid SGD 20,000\.00, its largest payout of the previous cycles was SGD 100\.00/,
  );
  expect(text.stdout).toMatch(
    /SGD payout total SGD 21,000\.10 is outside SGD 600\.00 \.\. SGD 600\.00/,
  );
  const json = await runCli(['settle', 'close', '--region', 'SG', '--preview', '--json'], env);
  expect(json.code).toBe(0);
  const out = JSON.parse(json.stdout) as {
    ok: boolean;
    preview: {
      cycleId: string;
      currencies: Array<{ totalMinor: string }>;
      anomalies: Array<{ kind: string }>;
    };
  };
  expect(out.preview.cycleId).toBe(closing.toString());
  expect(out.preview.currencies[0]!.totalMinor).toBe(paid.toString());
  expect(out.preview.anomalies.map((a) => a.kind)).toEqual([
    'TOTAL_OUT_OF_RANGE',
    'SELLER_JUMP',
    'MANY_HOLDS',
  ]);
  expect(await tableState(s.db, 'SG', closing)).toEqual(before);

  // The API answers the same preview to a viewer, by cycle id or as `latest` with the cutoff.
  const ctx = createAppContext(
    {
      ...loadConfig(),
      mysqlUrl: s.url,
      preview: { history: 4, factor: 2, sellerFactor: 5, holds: 1 },
    },
    'close-preview-test',
    { logLevel: 'warn', pool: 2 },
  );
  const app = await buildOpsApi(
    { ...ctx, logger: pino({ level: 'silent' }) },
    { tokens: 'viewer-token-0123456789abcdef:viewer:vera' },
  );
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const get = async (url: string) => {
    const res = await fetch(`${base}${url}`, {
      headers: { authorization: 'Bearer viewer-token-0123456789abcdef' },
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        cycleId: string;
        currencies: Array<{ totalMinor: string; payouts: number }>;
        anomalies: Array<{ kind: string }>;
      },
    };
  };
  const byId = await get(`/cycles/SG/${closing}/preview`);
  expect(byId.status).toBe(200);
  expect(byId.body.currencies).toEqual([
    expect.objectContaining({ payouts: 8, totalMinor: paid.toString() }),
  ]);
  expect(byId.body.anomalies.map((a) => a.kind)).toEqual([
    'TOTAL_OUT_OF_RANGE',
    'SELLER_JUMP',
    'MANY_HOLDS',
  ]);
  const latest = await get(
    `/cycles/SG/latest/preview?cutoff=${encodeURIComponent(cycleBounds('SG', closing).cutoffAt.toISOString())}`,
  );
  expect(latest.body).toEqual(byId.body);
  expect((await get('/cycles/SG/20261201/preview')).status).toBe(400); // a Tuesday: no cycle starts then
  expect(await tableState(s.db, 'SG', closing)).toEqual(before);

  // The real close makes exactly what the preview showed.
  const outbox = new OutboxWriter(s.codec, s.registry);
  await closeCycle(
    { db: s.db, kafka: r.kafka, ids: s.ids, outbox, dataDir: s.dataDir, logger: s.deps.logger },
    {
      region: 'SG',
      plan: { inputs: [], derived: [] },
      payoutsTopic,
      rails: {},
      payeeCooloffHours: 72,
      bank: { outboundDir: s.dataDir, environment: 'TEST' },
    },
  );
  const made = (await s
    .db('payout')
    .where({ region: 'SG', cycle_id: closing.toString() })
    .orderBy('shop_user_id')) as Array<{
    shop_user_id: string;
    currency: string;
    amount_minor: string;
    status: string;
    hold_reason: string | null;
  }>;
  expect(
    made.map((p) => [
      BigInt(p.shop_user_id),
      p.currency,
      BigInt(p.amount_minor),
      p.status,
      p.hold_reason,
    ]),
  ).toEqual(decided.map((d) => [d.shopUserId, d.currency, d.net, d.status, d.holdReason]));
  const carried = (await s
    .db('billing_item')
    .where({ source: 'CARRY_FORWARD' })
    .orderBy('shop_user_id')) as Array<{ shop_user_id: string; amount_minor: string }>;
  expect(carried.map((c) => [BigInt(c.shop_user_id), BigInt(c.amount_minor)])).toEqual(
    preview.carryForwards.map((c) => [c.shopUserId, c.amountMinor]),
  );

  // Closed, the preview has nothing left to make.
  const after = await previewClose(s.db, {
    region: 'SG',
    cutoff: cycleBounds('SG', closing).cutoffAt,
    rails: {},
    payeeCooloffHours: 72,
  });
  expect(after).toMatchObject({ cycleStatus: 'CLOSED', byStatus: {}, currencies: [] });
}, 120_000);
