import { Registry } from 'prom-client';
import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { OutboxRelay } from '../../../runtime/outbox/outbox-relay';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { offsetsAtEnd, waitFor } from '../../fixtures/processor-harness';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { expectPaidExactlyOnce, simStats, statusCounts } from '../../fixtures/payment-assertions';
import {
  flushNamespace,
  makePayouts,
  paymentWorld,
  publishPayouts,
  PAYOUT_BASE,
  payToRefusedAccounts,
  seedPayoutRows,
  SELLER_BASE,
  startPayment,
} from '../../fixtures/payment-harness';

const r = useTestResources();
const gw = useGatewayHarness();

describe('payment-notify pays every payout exactly once', () => {
  test('pays each PENDING payout once: PAID with the gateway reference, a PAID result in the outbox, the ledger balanced and nothing in flight; ON_HOLD, CARRIED_FORWARD and bank-file payouts are not paid', async () => {
    const w = await paymentWorld(r, gw);
    const redis = r.redis();
    r.defer(() => flushNamespace(redis, w.keyPrefix));
    // 40 sellers with 5 payouts each (five cycles), plus two payouts that must not be paid.
    const payouts = makePayouts(200, 40);
    const held = [
      {
        id: PAYOUT_BASE + 9001n,
        shopUserId: SELLER_BASE + 9001n,
        amountMinor: 500n,
        status: 'ON_HOLD' as const,
      },
      {
        id: PAYOUT_BASE + 9002n,
        shopUserId: SELLER_BASE + 9002n,
        amountMinor: 700n,
        status: 'CARRIED_FORWARD' as const,
      },
      // Payable, but on the bank rail: only the bank's reports may settle it.
      { id: PAYOUT_BASE + 9003n, shopUserId: SELLER_BASE + 9003n, amountMinor: 900n, rail: 'bank-file' as const },
    ];
    await seedPayoutRows(w.db, [...payouts, ...held]);
    await publishPayouts(r, w, [...payouts, ...held]);
    await startPayment(r, gw, w, redis);

    await waitFor('200 payouts PAID', async () => (await statusCounts(w.db)).PAID === 200, 60_000);
    await waitFor('every event consumed', () => offsetsAtEnd(r.kafka, w.group, w.topic), 30_000);
    expect(await statusCounts(w.db)).toEqual({ PAID: 200, ON_HOLD: 1, CARRIED_FORWARD: 1, PENDING: 1 });
    const bankPayout = (PAYOUT_BASE + 9003n).toString();
    expect(await w.db('tcc_state').where({ tx_id: bankPayout }).count({ n: '*' })).toEqual([{ n: '0' }]);
    expect(await w.db('payout_submission').where({ payout_id: bankPayout }).count({ n: '*' })).toEqual([{ n: '0' }]);
    expect(
      await expectPaidExactlyOnce(
        w,
        payouts.map((p) => p.id),
      ),
    ).toEqual({ paid: 200, failed: 0 });

    const total = payouts.reduce((s, p) => s + p.amountMinor, 0n);
    const balances = await ledgerBalances(w.db);
    expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
    expect(netOf(balances, 'SGD', 'SELLER_SETTLEMENT')).toBe(0n);
    // Money that left: BANK_CLEARING is credited exactly the sum paid, to the last minor unit.
    expect(netOf(balances, 'SGD', 'BANK_CLEARING')).toBe(total);
    expect(netOf(balances, 'SGD', 'SYSTEM')).toBe(-total);
    const stats = await simStats(w.simUrl);
    expect(stats.executed).toBe(200);
    // One connection per socket of the pool at most, however many payouts (lesson 7).
    expect(stats.connections).toBeLessThanOrEqual(160);
  }, 120_000);

  test('a payout event delivered again (and a payout paid already) changes nothing: no call, no result, no movement', async () => {
    const w = await paymentWorld(r, gw);
    const redis = r.redis();
    r.defer(() => flushNamespace(redis, w.keyPrefix));
    const payouts = makePayouts(50, 10, 1000);
    await seedPayoutRows(w.db, payouts);
    await publishPayouts(r, w, payouts);
    await startPayment(r, gw, w, redis);
    await waitFor('50 payouts PAID', async () => (await statusCounts(w.db)).PAID === 50, 60_000);
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, w.group, w.topic));
    const before = {
      stats: await simStats(w.simUrl),
      movements: await w.db('fund_movement').count({ n: '*' }),
      outbox: await w.db('outbox').count({ n: '*' }),
      ledger: await ledgerBalances(w.db),
    };
    // Duplicate delivery: the same events again, and Redis without the claims it stored.
    await flushNamespace(redis, w.keyPrefix);
    await publishPayouts(r, w, payouts);
    await waitFor('offsets at the end again', () => offsetsAtEnd(r.kafka, w.group, w.topic));
    await new Promise((ok) => setTimeout(ok, 1500));
    const after = await simStats(w.simUrl);
    expect(after.requests).toBe(before.stats.requests);
    expect(after.executions).toBe(before.stats.executions);
    expect(await w.db('fund_movement').count({ n: '*' })).toEqual(before.movements);
    expect(await w.db('outbox').count({ n: '*' })).toEqual(before.outbox);
    expect(await ledgerBalances(w.db)).toEqual(before.ledger);
    await expectPaidExactlyOnce(
      w,
      payouts.map((p) => p.id),
    );
  }, 120_000);

  test("a payout the gateway refuses for good is FAILED, its amount back in the seller's balance in the open cycle once, and a FAILED result goes out", async () => {
    const w = await paymentWorld(r, gw);
    const redis = r.redis();
    r.defer(() => flushNamespace(redis, w.keyPrefix));
    const payouts = makePayouts(30, 30, 2000);
    const refused = payouts.slice(0, 3);
    // The simulator refuses accounts starting with INVALID (a closed bank account, say).
    await seedPayoutRows(w.db, payouts);
    await payToRefusedAccounts(
      w.db,
      refused.map((p) => p.shopUserId),
    );
    await publishPayouts(r, w, payouts);
    await startPayment(r, gw, w, redis);
    await waitFor(
      'every payout final',
      async () => {
        const c = await statusCounts(w.db);
        return (c.PAID ?? 0) + (c.FAILED ?? 0) === 30;
      },
      60_000,
    );
    expect(await statusCounts(w.db)).toEqual({ PAID: 27, FAILED: 3 });
    expect(
      await expectPaidExactlyOnce(
        w,
        payouts.map((p) => p.id),
      ),
    ).toEqual({ paid: 27, failed: 3 });
    const failed = await w.db('payout').where({ status: 'FAILED' }).select('failure_code');
    expect(failed.map((f: { failure_code: string }) => f.failure_code)).toEqual([
      'INVALID_ACCOUNT',
      'INVALID_ACCOUNT',
      'INVALID_ACCOUNT',
    ]);
    // The refused amounts left the ledger's SELLER_SETTLEMENT (CANCEL, then RETURN) for the
    // sellers' billing balances: one PAYOUT_RETURN item each, in the cycle open now.
    const balances = await ledgerBalances(w.db);
    expect(netOf(balances, 'SGD', 'SELLER_SETTLEMENT')).toBe(0n);
    expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
    expect(await ledgerProblems(w.db)).toEqual([]);
    const phases = await w
      .db('fund_movement')
      .where({ tx_id: refused[0]!.id.toString() })
      .orderBy('created_at')
      .pluck('phase');
    expect([...phases].sort()).toEqual(['ACCRUE', 'CANCEL', 'RETURN', 'TRY']);
    const returned = (await w.db('billing_item').where({ source: 'PAYOUT_RETURN' }).select(w.db.raw('CAST(shop_user_id AS CHAR) AS seller'), w.db.raw('CAST(amount_minor AS CHAR) AS amount'), 'source_ref', w.db.raw('CAST(cycle_id AS CHAR) AS cycle'))) as Array<Record<string, string>>;
    expect(returned.sort((a, b) => (a.source_ref! < b.source_ref! ? -1 : 1))).toEqual(
      refused.map((p) => ({ seller: p.shopUserId.toString(), amount: p.amountMinor.toString(), source_ref: p.id.toString(), cycle: cycleIdFor('SG', new Date()).toString() })),
    );
    const balance = (await w.db('settlement_account').where({ shop_user_id: refused[0]!.shopUserId.toString(), cycle_id: cycleIdFor('SG', new Date()).toString() }).first(w.db.raw('CAST(balance_minor AS CHAR) AS b'))) as { b: string };
    expect(BigInt(balance.b)).toBe(refused[0]!.amountMinor);
  }, 120_000);

  test('results reach sts.payout-results.v1 through the outbox, keyed by seller, with 18-digit ids intact', async () => {
    const w = await paymentWorld(r, gw);
    const redis = r.redis();
    r.defer(() => flushNamespace(redis, w.keyPrefix));
    const payouts = makePayouts(20, 5, 3000);
    await seedPayoutRows(w.db, payouts);
    await publishPayouts(r, w, payouts);
    await startPayment(r, gw, w, redis);
    await waitFor('20 PAID', async () => (await statusCounts(w.db)).PAID === 20, 60_000);
    const relay = new OutboxRelay(
      { db: w.db, kafka: r.kafka, metrics: new Registry() },
      { pollIntervalMs: 50 },
    );
    await relay.start();
    r.defer(() => relay.stop());
    const consumer = r.kafka.consumer({ groupId: r.group('results') });
    await consumer.connect();
    r.defer(() => consumer.disconnect());
    await consumer.subscribe({ topic: w.resultsTopic, fromBeginning: true });
    const seen: Array<{ key: string; value: Record<string, unknown>; eventId: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { value } = await w.codec.decode<Record<string, unknown>>(message.value);
        seen.push({
          key: message.key!.toString(),
          value,
          eventId: String(message.headers?.['sts-event-id']),
        });
      },
    });
    await waitFor('20 results consumed', async () => seen.length >= 20, 60_000);
    const byPayout = new Map(seen.map((s) => [String(s.value.payout_id), s]));
    for (const p of payouts) {
      const s = byPayout.get(p.id.toString())!;
      expect(s.key).toBe(p.shopUserId.toString());
      expect(s.value).toMatchObject({
        payout_id: p.id,
        shop_user_id: p.shopUserId,
        amount_minor: p.amountMinor,
        status: 'PAID',
        failure_code: null,
      });
      expect(s.eventId).toBe(`payout-result:${p.id}`);
    }
  }, 120_000);

  test('an event that disagrees with its payout row goes to the DLQ with STS_PAYOUT_MISMATCH; its neighbours are paid', async () => {
    const w = await paymentWorld(r, gw);
    const redis = r.redis();
    r.defer(() => flushNamespace(redis, w.keyPrefix));
    const payouts = makePayouts(10, 10, 4000);
    await seedPayoutRows(w.db, payouts);
    const bad = payouts[4]!;
    await publishPayouts(r, w, payouts, (p) =>
      p.id === bad.id ? { amount_minor: p.amountMinor + 1n } : {},
    );
    await startPayment(r, gw, w, redis);
    await waitFor('9 PAID', async () => (await statusCounts(w.db)).PAID === 9, 60_000);
    const consumer = r.kafka.consumer({ groupId: r.group('dlq') });
    await consumer.connect();
    r.defer(() => consumer.disconnect());
    await consumer.subscribe({ topic: w.dlq, fromBeginning: true });
    const letters: Array<Record<string, string>> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push(
          Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        );
      },
    });
    await waitFor('one dead letter', async () => letters.length >= 1, 30_000);
    expect(letters[0]![DLQ_HEADERS.code]).toBe('STS_PAYOUT_MISMATCH');
    expect(letters[0]![DLQ_HEADERS.topic]).toBe(w.topic);
    expect(await statusCounts(w.db)).toEqual({ PAID: 9, PENDING: 1 });
    expect((await simStats(w.simUrl)).executions).toBe(9);
  }, 120_000);
});
