import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, type StsConfig } from '../../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from '../../runtime/errors';
import type { ComponentStatus, Reporter } from '../component';
import { isPortOpen, waitFor } from '../ports';
import { livePid, spawnDetached, stopProcess, tail } from '../process-control';

/**
 * The payment gateway simulator as a part of the local stack. A gateway already answering
 * GET /health at STS_GATEWAY_URL is adopted as it is; otherwise, for a loopback URL, the
 * simulator is started detached with a pid file so `sts down` stops only what `sts up` started.
 * A non-loopback STS_GATEWAY_URL is a real gateway: it is reported, never started.
 *
 * Failure codes: STS_SERVICE_UNAVAILABLE (remote gateway down), STS_PORT_IN_USE (something else
 * holds the port), STS_STARTUP_FAILED (the simulator exited or never answered /health).
 */

const MAIN = path.join(__dirname, 'main.ts');
const READY_TIMEOUT_MS = 30_000;

export function gatewayPaths(dataDir: string) {
  const root = path.join(dataDir, 'gateway');
  return { root, log: path.join(root, 'simulator.log'), pid: path.join(root, 'simulator.pid') };
}

function isLocal(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost';
}

export async function gatewayUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const first = await gatewayStatus(config);
  if (first.state === 'up') return first;
  const url = new URL(config.gatewayUrl);
  if (!isLocal(url)) {
    throw new ServiceUnavailableError(
      'payment gateway',
      url.host,
      first.detail ?? 'no answer on /health',
      'start that gateway, or unset STS_GATEWAY_URL to use the local simulator',
    );
  }
  const port = Number(url.port || 80);
  if (await isPortOpen('127.0.0.1', port)) {
    throw new PortInUseError(
      'gateway simulator',
      port,
      `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or set STS_GATEWAY_URL to another port`,
    );
  }
  const p = gatewayPaths(config.dataDir);
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
    ],
    cwd: PROJECT_ROOT,
    env: { ...process.env, STS_GATEWAY_URL: config.gatewayUrl, STS_DATA_DIR: config.dataDir },
    logFile: p.log,
    pidFile: p.pid,
  });
  report(`gateway: started the simulator, pid ${pid}`);
  const ready = await waitFor(
    async () => ((await gatewayStatus(config)).state === 'up' ? true : undefined),
    {
      timeoutMs: READY_TIMEOUT_MS,
      abort: () => (livePid(p.pid) === undefined ? 'the simulator exited' : undefined),
    },
  );
  if (!ready.value) {
    await stopProcess(p.pid, 5000);
    throw new StartupFailedError(
      'gateway simulator',
      `${ready.aborted ?? 'no answer on /health in time'}: ${tail(p.log, 2).replace(/\s+/g, ' ').slice(0, 300)}`,
      p.log,
    );
  }
  return gatewayStatus(config);
}

export async function gatewayDown(config: StsConfig): Promise<boolean> {
  return stopProcess(gatewayPaths(config.dataDir).pid, 10_000);
}

export async function gatewayStatus(config: StsConfig): Promise<ComponentStatus> {
  const pid = livePid(gatewayPaths(config.dataDir).pid);
  const base = {
    name: 'gateway-simulator',
    address: config.gatewayUrl,
    managed: pid !== undefined,
    pid,
  };
  const started = process.hrtime.bigint();
  try {
    const res = await fetch(`${config.gatewayUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const body = (await res.json().catch(() => ({}))) as { version?: string };
    if (!res.ok) return { ...base, state: 'down', detail: `GET /health answered ${res.status}` };
    return { ...base, state: 'up', latencyMs, version: body.version };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  }
}
