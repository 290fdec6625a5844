import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, type StsConfig } from '../../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from '../../runtime/errors';
import type { ComponentStatus, Reporter } from '../component';
import { isPortOpen, waitFor } from '../ports';
import { livePid, spawnDetached, stopProcess, tail } from '../process-control';

/**
 * The bank simulator as a part of the local stack. A simulator already answering GET /health at
 * STS_BANK_URL is adopted as it is; otherwise, for a loopback URL, it is started detached with a
 * pid file (under <STS_DATA_DIR>/bank/) so `sts down` stops only what `sts up` started. It takes
 * files from STS_BANK_OUTBOUND_DIR and writes reports to STS_BANK_INBOUND_DIR. A non-loopback
 * STS_BANK_URL names a simulator run elsewhere: it is reported, never started.
 *
 * Failure codes: STS_SERVICE_UNAVAILABLE (remote simulator down), STS_PORT_IN_USE (something else
 * holds the port), STS_STARTUP_FAILED (the simulator exited or never answered /health).
 */

const MAIN = path.join(__dirname, 'main.ts');
const READY_TIMEOUT_MS = 30_000;

export function bankPaths(dataDir: string) {
  const root = path.join(dataDir, 'bank');
  return { root, log: path.join(root, 'simulator.log'), pid: path.join(root, 'simulator.pid') };
}

function isLocal(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost';
}

export async function bankUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const first = await bankStatus(config);
  if (first.state === 'up') return first;
  const url = new URL(config.bankUrl);
  if (!isLocal(url)) {
    throw new ServiceUnavailableError(
      'bank simulator',
      url.host,
      first.detail ?? 'no answer on /health',
      'start that simulator, or unset STS_BANK_URL to use the local one',
    );
  }
  const port = Number(url.port || 80);
  if (await isPortOpen('127.0.0.1', port)) {
    throw new PortInUseError(
      'bank simulator',
      port,
      `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or set STS_BANK_URL to another port`,
    );
  }
  const p = bankPaths(config.dataDir);
  fs.mkdirSync(p.root, { recursive: true });
  const pid = spawnDetached({
    command: process.execPath,
    args: [
      '-r',
      'tsx/cjs',
      MAIN,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--journal-dir',
      p.root,
      '--outbound',
      config.bankOutboundDir,
      '--inbound',
      config.bankInboundDir,
    ],
    cwd: PROJECT_ROOT,
    env: { ...process.env, STS_BANK_URL: config.bankUrl, STS_DATA_DIR: config.dataDir },
    logFile: p.log,
    pidFile: p.pid,
  });
  report(`bank: started the simulator, pid ${pid}`);
  const ready = await waitFor(
    async () => ((await bankStatus(config)).state === 'up' ? true : undefined),
    {
      timeoutMs: READY_TIMEOUT_MS,
      abort: () => (livePid(p.pid) === undefined ? 'the simulator exited' : undefined),
    },
  );
  if (!ready.value) {
    await stopProcess(p.pid, 5000);
    throw new StartupFailedError(
      'bank simulator',
      `${ready.aborted ?? 'no answer on /health in time'}: ${tail(p.log, 2).replace(/\s+/g, ' ').slice(0, 300)}`,
      p.log,
    );
  }
  return bankStatus(config);
}

export async function bankDown(config: StsConfig): Promise<boolean> {
  return stopProcess(bankPaths(config.dataDir).pid, 10_000);
}

export async function bankStatus(config: StsConfig): Promise<ComponentStatus> {
  const pid = livePid(bankPaths(config.dataDir).pid);
  const base = { name: 'bank-simulator', address: config.bankUrl, managed: pid !== undefined, pid };
  const started = process.hrtime.bigint();
  try {
    const res = await fetch(`${config.bankUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const body = (await res.json().catch(() => ({}))) as { version?: string; error?: string };
    if (!res.ok)
      return {
        ...base,
        state: 'down',
        detail: `GET /health answered ${res.status}${body.error ? `: ${body.error}` : ''}`,
      };
    return { ...base, state: 'up', latencyMs, version: body.version };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  }
}
