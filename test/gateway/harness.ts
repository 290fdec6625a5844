import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { GatewayClient, type GatewayPayout } from '../../runtime/gateway/gateway-client';
import type { GatewayClientOptions } from '../../runtime/gateway/gateway-client-options';
import type { FaultPatch } from '../../infra/gateway-simulator/fault-plan';
import {
  createGatewaySimulator,
  type GatewaySimulator,
} from '../../infra/gateway-simulator/server';

/**
 * Each gateway test owns its simulators (in-process on a free port, or a real child process it
 * can kill -9), their journal directories and its clients; afterAll closes and removes them all.
 */

export const SIM_MAIN = path.join(PROJECT_ROOT, 'infra', 'gateway-simulator', 'main.ts');

/** 18-digit ids and an amount above 2^53, so any trip through a JS number would show. */
export function payout(i: number, account = 'ACC-SG-0001'): GatewayPayout {
  return {
    payoutId: 652024209997893632n + BigInt(i),
    shopUserId: 652024209997800000n + BigInt(i),
    currency: 'SGD',
    amountMinor: 123456789012345678n + BigInt(i),
    account,
  };
}

export interface SimChild {
  proc: ChildProcess;
  url: string;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function useGatewayHarness() {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        /* best effort */
      }
    }
  });

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-gw-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  return {
    tempDir,
    async simulator(
      faults?: FaultPatch,
      journalDir = tempDir(),
    ): Promise<{ sim: GatewaySimulator; url: string; dir: string }> {
      const sim = await createGatewaySimulator({ journalDir, faults, logLevel: 'silent' });
      const url = await sim.listen(0);
      cleanups.push(() => sim.close());
      return { sim, url, dir: journalDir };
    },
    client(opts: Partial<GatewayClientOptions>): GatewayClient {
      const client = new GatewayClient(opts);
      cleanups.push(() => client.close());
      return client;
    },
    /** A real simulator process; resolves once it prints its listening line. */
    async spawn(journalDir: string, port = 0, extraArgs: string[] = []): Promise<SimChild> {
      const proc = spawn(
        process.execPath,
        [
          '-r',
          'tsx/cjs',
          SIM_MAIN,
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--journal-dir',
          journalDir,
          ...extraArgs,
        ],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, STS_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      cleanups.push(() => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      });
      let out = '';
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })),
      );
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`simulator did not start in 30 s:\n${out}`)),
          30_000,
        );
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        proc.stdout!.on('data', onData);
        proc.stderr!.on('data', onData);
        void exited.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`simulator exited with ${code} before listening:\n${out}`));
        });
      });
      return { proc, url, port: Number(new URL(url).port), exited, output: () => out };
    },
  };
}

export async function getJson<T>(url: string): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, text };
}

export async function putFaults(url: string, patch: FaultPatch): Promise<void> {
  const res = await fetch(`${url}/_sim/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`PUT /_sim/faults answered ${res.status}: ${await res.text()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
