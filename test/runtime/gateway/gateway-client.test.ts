import net from 'node:net';
import { ConfigError } from '../../../runtime/errors';
import type { SubmitOutcome } from '../../../runtime/gateway/gateway-client';
import { GatewayClient } from '../../../runtime/gateway/gateway-client';
import { payout, putFaults, sleep, useGatewayHarness } from '../../fixtures/gateway-harness';

/**
 * The gateway client against a real simulator over HTTP: unknown outcomes that a lookup resolves,
 * a breaker that opens within a second of an outage under load and closes after a half-open
 * success, and a keep-alive pool that never opens more than maxSockets connections.
 */

const h = useGatewayHarness();

describe('gateway client', () => {
  it('reports a timeout after execution as unknown; a lookup then finds it executed exactly once', async () => {
    const { sim, url } = await h.simulator({
      timeoutAfterExecuteRate: 1,
      timeoutMode: 'hold',
      holdMs: 5000,
    });
    const client = h.client({ baseUrl: url, responseTimeoutMs: 300, connectTimeoutMs: 200 });
    const started = Date.now();
    const first = await client.submit('po-held', payout(20));
    expect(first).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);

    expect(await client.lookup('po-held')).toMatchObject({
      kind: 'executed',
      reference: expect.stringMatching(/^GW/),
    });
    sim.faults.update({ timeoutAfterExecuteRate: 0 });
    expect(await client.submit('po-held', payout(20))).toMatchObject({
      kind: 'executed',
      replayed: true,
    });
    expect(sim.journal.executionCount('po-held')).toBe(1);
    expect(sim.stats).toMatchObject({ executions: 1, timeoutsAfterExecute: 1 });
  });

  it('reports a socket destroyed after execution as an unknown reset, resolved by lookup', async () => {
    const { sim, url } = await h.simulator({ timeoutAfterExecuteRate: 1, timeoutMode: 'destroy' });
    const client = h.client({ baseUrl: url });
    expect(await client.submit('po-dropped', payout(21))).toMatchObject({
      kind: 'unknown',
      reason: 'reset',
    });
    expect(await client.lookup('po-dropped')).toMatchObject({ kind: 'executed' });
    expect(sim.journal.executionCount('po-dropped')).toBe(1);
  });

  it('reports a reset before execution as unknown, and a lookup finds nothing executed', async () => {
    const { sim, url } = await h.simulator({ resetRate: 1 });
    const client = h.client({ baseUrl: url });
    expect(await client.submit('po-reset', payout(22))).toMatchObject({
      kind: 'unknown',
      reason: 'reset',
    });
    sim.faults.update({ resetRate: 0 });
    expect(await client.lookup('po-reset')).toEqual({ kind: 'not-found' });
    expect(sim.stats).toMatchObject({ resets: 1, executions: 0 });
  });

  it('reports a transient 503 as unknown; a retry with the same key executes once', async () => {
    const { sim, url } = await h.simulator({ transientRate: 1 });
    const client = h.client({ baseUrl: url });
    expect(await client.submit('po-503', payout(23))).toMatchObject({
      kind: 'unknown',
      reason: 'unavailable',
      detail: expect.stringContaining('503'),
    });
    sim.faults.update({ transientRate: 0 });
    expect(await client.submit('po-503', payout(23))).toMatchObject({
      kind: 'executed',
      replayed: false,
    });
    expect(sim.journal.executionCount('po-503')).toBe(1);
  });

  it('reports a refused connection as unknown without throwing', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const client = h.client({ baseUrl: `http://127.0.0.1:${port}` });
    expect(await client.lookup('po-nowhere')).toMatchObject({ kind: 'unknown', reason: 'refused' });
  });

  it('opens the breaker within 1 s of an outage under steady load, and closes it after a half-open success', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url, breakerResetTimeoutMs: 400 });
    const events: Array<[string, number]> = [];
    for (const name of ['breakerOpen', 'breakerHalfOpen', 'breakerClose'] as const)
      client.on(name, () => events.push([name, Date.now()]));

    const outcomes: SubmitOutcome[] = [];
    let running = true;
    let n = 0;
    const load = (async () => {
      // About 200 requests a second, open loop: the rate does not drop when answers slow down.
      while (running) {
        void client.submit(`po-load-${n}`, payout(1000 + n)).then((o) => outcomes.push(o));
        n += 1;
        await sleep(5);
      }
    })();
    try {
      await sleep(1200);
      expect(client.breakerState).toBe('closed');
      const outageAt = Date.now();
      await putFaults(url, { outageForMs: 1500 });
      const deadline = Date.now() + 10_000;
      while (!events.some(([e]) => e === 'breakerClose') && Date.now() < deadline) await sleep(20);
      const at = (name: string) => events.find(([e]) => e === name)?.[1];
      expect(at('breakerOpen')).toBeDefined();
      expect(at('breakerOpen')! - outageAt).toBeLessThan(1000);
      expect(at('breakerHalfOpen')).toBeGreaterThan(at('breakerOpen')!);
      expect(at('breakerClose')).toBeGreaterThan(outageAt + 1500);
      expect(client.breakerState).toBe('closed');
    } finally {
      running = false;
      await load;
    }
    await sleep(300);
    // While open, requests failed fast without reaching the gateway.
    const fastFailed = outcomes.filter(
      (o) => o.kind === 'unknown' && o.reason === 'breaker-open',
    ).length;
    expect(fastFailed).toBeGreaterThan(sim.stats.outageRefusals);
    expect(outcomes.filter((o) => o.kind === 'executed').length).toBe(sim.stats.executed);
  });

  it('reuses keep-alive sockets: 500 sequential and 500 concurrent requests open at most maxSockets connections', async () => {
    const { sim, url } = await h.simulator();
    const client = h.client({ baseUrl: url, maxSockets: 4, maxFreeSockets: 4 });
    for (let i = 0; i < 500; i++) {
      expect((await client.submit(`po-seq-${i}`, payout(5000 + i))).kind).toBe('executed');
    }
    expect(sim.stats.connections).toBeLessThanOrEqual(4);
    const outcomes = await Promise.all(
      Array.from({ length: 500 }, (_, i) => client.submit(`po-par-${i}`, payout(6000 + i))),
    );
    expect(outcomes.every((o) => o.kind === 'executed')).toBe(true);
    expect(sim.stats.connections).toBeLessThanOrEqual(4);
    expect(sim.stats.executions).toBe(1000);
  });

  it('validates related options together and says how to fix them', () => {
    expect(() => new GatewayClient({ connectTimeoutMs: 5000, responseTimeoutMs: 1000 })).toThrow(
      ConfigError,
    );
    expect(() => new GatewayClient({ connectTimeoutMs: 5000, responseTimeoutMs: 1000 })).toThrow(
      /connectTimeoutMs must be lower than responseTimeoutMs/,
    );
    expect(() => new GatewayClient({ maxSockets: 2, maxFreeSockets: 8 })).toThrow(
      /maxFreeSockets must not exceed maxSockets/,
    );
    expect(() => new GatewayClient({ breakerWindowMs: 1000, breakerBuckets: 7 })).toThrow(
      /multiple of breakerBuckets/,
    );
  });
});
