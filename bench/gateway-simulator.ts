/**
 * Gateway simulator throughput: `npx tsx bench/gateway-simulator.ts [requests] [concurrency]`.
 *
 * Inputs: none from the stack; it starts its own simulator process on a free port with a scratch
 *   journal, and drives it through GatewayClient (keep-alive pool of `concurrency` sockets).
 *   Defaults: 10,000 requests at concurrency 64, and 500 sequential requests as the reference.
 * Output: its result (bench-result.ts) on stdout and in STS_DATA_DIR/bench/gateway-simulator.json:
 *   requests/s of both runs, fsync rounds and the largest group commit.
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
import { runBench } from './bench-main';
import { figure, writeBenchResult, type BenchResultBody } from './bench-result';
import { fmt } from './report-format';
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
    const record: GatewayRecord = {
      requests,
      concurrency,
      sequentialPerSecond: sequential,
      concurrentPerSecond: concurrent,
      fsyncRounds: stats.journalCommitRounds,
      largestGroupCommit: stats.journalMaxBatch,
      connections: stats.connections,
      ok,
    };
    writeBenchResult(loadConfig().dataDir, gatewayResult(record));
    if (!ok) throw new Error('executions or journal records do not match the requests');
  } finally {
    client.close();
    sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface GatewayRecord {
  requests: number;
  concurrency: number;
  sequentialPerSecond: number;
  concurrentPerSecond: number;
  fsyncRounds: number;
  largestGroupCommit: number;
  connections: number;
  /** Every request executed once and journalled. */
  ok: boolean;
}

export function gatewayResult(r: GatewayRecord): BenchResultBody {
  return {
    name: 'gateway-simulator',
    size: `${fmt(r.requests)} requests at concurrency ${fmt(r.concurrency)}`,
    figures: {
      requestsPerSecond: figure(r.concurrentPerSecond, 'requests/s'),
      sequentialPerSecond: figure(r.sequentialPerSecond, 'requests/s'),
    },
    comparisons: [
      {
        measure: `requests/s at concurrency ${fmt(r.concurrency)}`,
        figure: 'requestsPerSecond',
        reference: 'one request at a time',
        referenceFigure: 'sequentialPerSecond',
      },
    ],
    targets: [
      {
        text: "≥ 2,000 requests/s, each fsync'd",
        source: 'bench/gateway-simulator.ts',
        figure: 'requestsPerSecond',
        op: '>=',
        threshold: 2000,
      },
    ],
    notes: [
      `fsync rounds: ${fmt(r.fsyncRounds)}; largest group commit: ${fmt(r.largestGroupCommit)} executions.`,
      r.ok
        ? 'Every request executed once and journalled.'
        : '**Executions or journal records did NOT match** (see the benchmark output).',
    ],
    data: r,
  };
}

if (require.main === module) runBench(main);
