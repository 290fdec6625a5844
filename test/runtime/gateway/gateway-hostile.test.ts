import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayClient } from '../../../runtime/gateway/gateway-client';

/**
 * A gateway that misbehaves at the HTTP level: an endless body, a declared body of a gigabyte, a
 * result whose fields do not fit our columns. The client reads at most maxResponseBytes, cuts the
 * connection, and reports the outcome as unknown (the payout may have executed), so the
 * compensator looks it up instead of this process buffering whatever the peer sends.
 */

interface Hostile {
  url: string;
  /** Bytes the server managed to write into the socket before the client went away. */
  written(): number;
  close(): Promise<void>;
}

async function hostileGateway(answer: (res: http.ServerResponse, tally: (n: number) => void) => void): Promise<Hostile> {
  let written = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res, (n) => (written += n)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    written: () => written,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const instruction = { payoutId: 652024209997893632n, shopUserId: 652024209997893633n, currency: 'SGD', amountMinor: 9_007_199_254_740_993n, account: 'ACC-1' };

/** Writes 64 KiB pieces for as long as the socket takes them (at most 256 MiB), tallying each. */
function endless(res: http.ServerResponse, tally: (n: number) => void): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const piece = Buffer.alloc(64 * 1024, 0x20);
  let total = 0;
  const pump = () => {
    // Bounded, so a client that never stops reading cannot keep the test running.
    while (!res.destroyed && total < 256 * 1024 * 1024) {
      total += piece.length;
      tally(piece.length);
      if (!res.write(piece)) return;
    }
    res.end();
  };
  res.on('drain', pump);
  res.on('close', () => res.off('drain', pump));
  pump();
}

describe('gateway client against a hostile gateway', () => {
  let client: GatewayClient | undefined;
  let gw: Hostile | undefined;
  afterEach(async () => {
    client?.close();
    await gw?.close();
    client = undefined;
    gw = undefined;
  });

  it('cuts off an endless response body at maxResponseBytes and reports the outcome unknown', async () => {
    gw = await hostileGateway(endless);
    client = new GatewayClient({ baseUrl: gw.url, maxResponseBytes: 32 * 1024, responseTimeoutMs: 10_000 });
    const started = Date.now();
    const outcome = await client.submit('po-endless', instruction);
    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'oversized' });
    // Well before the response timeout: the cap, not the clock, ended it.
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server could push only what fits the socket buffers after the cap before the reset.
    expect(gw.written()).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a declared body larger than the cap without reading it', async () => {
    gw = await hostileGateway((res, tally) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 30) });
      res.write('{"key":"po-declared"');
      tally(20);
    });
    client = new GatewayClient({ baseUrl: gw.url, maxResponseBytes: 64 * 1024 });
    expect(await client.submit('po-declared', instruction)).toMatchObject({ kind: 'unknown', reason: 'oversized' });
  });

  it('treats a result whose reference does not fit its column as an unreadable answer, never a value to store', async () => {
    gw = await hostileGateway((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ key: 'po-long-ref', status: 'EXECUTED', reference: `GW${'9'.repeat(200)}`, executed_at: new Date().toISOString() }));
    });
    client = new GatewayClient({ baseUrl: gw.url });
    expect(await client.submit('po-long-ref', instruction)).toMatchObject({ kind: 'unknown', reason: 'bad-response' });
  });

  it('still reads a well-formed result of ordinary size', async () => {
    gw = await hostileGateway((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ key: 'po-fine', status: 'EXECUTED', reference: 'GW000000000001', executed_at: '2026-12-02T00:00:00.000Z' }));
    });
    client = new GatewayClient({ baseUrl: gw.url, maxResponseBytes: 1024 });
    expect(await client.submit('po-fine', instruction)).toMatchObject({ kind: 'executed', reference: 'GW000000000001' });
  });
});
