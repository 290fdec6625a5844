import { GatewayKeyConflictError } from '../../../runtime/gateway/gateway-errors';
import type { SettlementReportPage } from '../../../runtime/gateway/gateway-wire';
import { getJson, payout, useGatewayHarness } from '../../fixtures/gateway-harness';

/**
 * The simulator's contract with payment-notify: a key executes at most once, a reused key with
 * another body is refused, a permanent failure is recorded like an execution, and the settlement
 * report carries 18-digit ids and large amounts as exact decimal strings.
 */

const h = useGatewayHarness();

describe('gateway simulator: idempotency', () => {
  it('executes a key once and replays the stored result for the same body', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url });
    const first = await client.submit('po-652024209997893632', payout(0));
    const second = await client.submit('po-652024209997893632', payout(0));
    expect(first).toMatchObject({ kind: 'executed', replayed: false });
    expect(second).toEqual({ ...first, replayed: true });
    expect(sim.stats).toMatchObject({ executions: 1, refusedDuplicates: 1 });
    const count = await getJson<{ count: number }>(
      `${url}/_sim/executions/po-652024209997893632/count`,
    );
    expect(count.body.count).toBe(1);
  });

  it('executes once when 50 identical requests with one key race', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url, maxSockets: 50, maxFreeSockets: 50 });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => client.submit('po-race', payout(1))),
    );
    const refs = new Set(outcomes.map((o) => (o.kind === 'executed' ? o.reference : o.kind)));
    expect([...refs]).toHaveLength(1);
    expect(outcomes.every((o) => o.kind === 'executed')).toBe(true);
    expect(sim.stats.executions).toBe(1);
    expect(sim.stats.refusedDuplicates).toBe(49);
    expect(sim.journal.executionCount('po-race')).toBe(1);
  });

  it('refuses the same key with a different body (422), which the client throws as a coded error', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url });
    await client.submit('po-conflict', payout(2));
    const err = await client
      .submit('po-conflict', { ...payout(2), amountMinor: payout(2).amountMinor + 1n })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayKeyConflictError);
    expect((err as GatewayKeyConflictError).code).toBe('STS_GATEWAY_KEY_CONFLICT');
    expect((err as GatewayKeyConflictError).retriable).toBe(false);
    expect(sim.stats).toMatchObject({ executions: 1, conflicts: 1 });
  });

  it('answers a permanent failure with the same REJECTED result on every retry and lookup', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url });
    const first = await client.submit('po-invalid', payout(3, 'INVALID-ACC-77'));
    expect(first).toMatchObject({
      kind: 'rejected',
      failureCode: 'INVALID_ACCOUNT',
      replayed: false,
    });
    for (let i = 0; i < 3; i++) {
      expect(await client.submit('po-invalid', payout(3, 'INVALID-ACC-77'))).toEqual({
        ...first,
        replayed: true,
      });
    }
    const looked = await client.lookup('po-invalid');
    expect(looked).toEqual({ ...first, replayed: false });
    expect(sim.stats).toMatchObject({
      executions: 1,
      rejected: 1,
      executed: 0,
      refusedDuplicates: 3,
    });

    sim.faults.update({ rejectAccountPrefixes: ['BLOCKED'] });
    expect(await client.submit('po-blocked', payout(4, 'BLOCKED-1'))).toMatchObject({
      kind: 'rejected',
      failureCode: 'INVALID_ACCOUNT',
    });
  });

  it('refuses a request without Idempotency-Key, or with a JSON number for an amount, and executes nothing', async () => {
    const { sim, url } = await h.simulator();
    const good = {
      payout_id: '652024209997893632',
      shop_user_id: '652024209997893633',
      currency: 'SGD',
      amount_minor: '1250',
      account: 'ACC-1',
    };
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${url}/v1/payouts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const noKey = await post({}, good);
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toMatchObject({ error: 'IDEMPOTENCY_KEY_INVALID' });
    const numeric = await post({ 'idempotency-key': 'po-number' }, { ...good, amount_minor: 1250 });
    expect(numeric.status).toBe(400);
    expect((await numeric.json()) as { message: string }).toMatchObject({
      message: expect.stringContaining('amount_minor'),
    });
    expect(sim.stats.executions).toBe(0);
    expect((await fetch(`${url}/v1/payouts/po-number`)).status).toBe(404);
  });

  it('lists executions in the report in execution order, paginated, with 18-digit ids and amounts intact', async () => {
    const { url } = await h.simulator();
    const client = h.client({ baseUrl: url });
    for (let i = 0; i < 5; i++)
      await client.submit(`po-report-${i}`, payout(10 + i, i === 2 ? 'INVALID-X' : 'ACC-SG-0001'));

    const items: SettlementReportPage['items'] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page: { body: SettlementReportPage; text: string } =
        await getJson<SettlementReportPage>(`${url}/v1/payouts?limit=2&cursor=${cursor}`);
      items.push(...page.body.items);
      cursor = page.body.next_cursor;
      pages += 1;
      expect(page.text).not.toMatch(/"(payout_id|shop_user_id|amount_minor)":\d/);
    }
    expect(pages).toBe(3);
    expect(items.map((r) => r.key)).toEqual([0, 1, 2, 3, 4].map((i) => `po-report-${i}`));
    expect(items.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const [i, r] of items.entries()) {
      const p = payout(10 + i);
      expect(r.payout_id).toBe(p.payoutId.toString());
      expect(r.payout_id).toMatch(/^\d{18}$/);
      expect(r.shop_user_id).toBe(p.shopUserId.toString());
      expect(BigInt(r.amount_minor)).toBe(p.amountMinor);
      expect(r.currency).toBe('SGD');
    }
    expect(items[2]).toMatchObject({
      status: 'REJECTED',
      failure_code: 'INVALID_ACCOUNT',
      account: 'INVALID-X',
    });

    const future = await getJson<SettlementReportPage>(
      `${url}/v1/payouts?since=${Date.now() + 60_000}`,
    );
    expect(future.body).toEqual({ items: [], next_cursor: null });
    const sinceIso = await getJson<SettlementReportPage>(
      `${url}/v1/payouts?since=${encodeURIComponent(items[3]!.executed_at)}`,
    );
    expect(sinceIso.body.items.map((r) => r.key)).toEqual(
      items.filter((r) => r.executed_at >= items[3]!.executed_at).map((r) => r.key),
    );
    expect((await fetch(`${url}/v1/payouts?limit=0`)).status).toBe(400);
  });
});
