/**
 * Gateway simulator throughput: `npx tsx bench/gateway-simulator.ts [requests] [concurrency]`.
 *
 * Inputs: none from the stack; it starts its own simulator process on a free port with a scratch
 *   journal, and drives it through GatewayClient (keep-alive pool of `concurrency` sockets).
 *   Defaults: 10,000 requests at concurrency 64, and 500 sequential requests as the reference.
 * Output: requests/s of both runs, fsync rounds and the largest group commit on stdout, and
 *   .sts/bench/gateway-simulator.json.
 * Failure: exits 1 if any request is not executed, a key executes twice, or the journal holds
 *   another number of records than were acknowledged.
 *
 * The reference run sends one request at a time, so every request pays one fsync alone; the
 * concurrent run shows what group commit buys (target: 2,000+ requests/s, each fsync'd).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../runtime/config';
import { GatewayClient } from '../runtime/gateway/gateway-client';
import { startSimulator } from './simulator-process';

interface SimStatsBody {
  executions: number;
  maxExecutionsPerKey: number;
  journalRecords: number;
  journalCommitRounds: number;
  journalMaxBatch: number;
  connections: number;
}

async function run(
  client: GatewayClient,
  prefix: string,
  requests: number,
  concurrency: number,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        const outcome = await client.submit(`${prefix}-${i}`, {
          payoutId: 652024209997893632n + BigInt(i),
          shopUserId: 652024209997800000n,
          currency: 'SGD',
          amountMinor: 123456789012345678n,
          account: 'ACC-BENCH',
        });
        if (outcome.kind !== 'executed')
          throw new Error(`request ${i}: ${JSON.stringify(outcome)}`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(requests / seconds);
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 10_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-gw-bench-'));
  const sim = await startSimulator(dir);
  const client = new GatewayClient({
    baseUrl: sim.url,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
    responseTimeoutMs: 30_000,
  });
  try {
    const sequential = await run(client, 'seq', 500, 1);
    const concurrent = await run(client, 'par', requests, concurrency);
    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as SimStatsBody;
    const total = requests + 500;
    const ok =
      stats.executions === total &&
      stats.journalRecords === total &&
      stats.maxExecutionsPerKey === 1;
    const result = {
      requests,
      concurrency,
      sequentialPerSecond: sequential,
      concurrentPerSecond: concurrent,
      ratio: Math.round((concurrent / sequential) * 10) / 10,
      fsyncRounds: stats.journalCommitRounds,
      largestGroupCommit: stats.journalMaxBatch,
      connections: stats.connections,
      ok,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const outDir = path.join(loadConfig().dataDir, 'bench');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(
      path.join(outDir, 'gateway-simulator.json'),
      `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    client.close();
    sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
