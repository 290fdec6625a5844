import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, type StsConfig } from '../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from './stack-errors';
import type { ComponentStatus, Reporter } from './component';
import { isPortOpen, waitFor } from './ports';
import { livePid, spawnDetached, stopProcess, tail } from './process-control';

/**
 * A simulator (gateway-simulator/, bank-simulator/) as a part of the local stack. One already
 * answering GET /health at its URL is adopted as it is; otherwise, for a loopback URL, it is
 * started detached with a pid file (under <STS_DATA_DIR>/<dir>/) so `sts down` stops only what
 * `sts up` started. A non-loopback URL names one run elsewhere: it is reported, never started.
 * One that `sts up` started and that is alive but slow to answer (a loaded machine, a paused
 * process) is waited for: it holds its port, and taking it for a stranger would fail the `up`.
 *
 * Failure codes: STS_SERVICE_UNAVAILABLE (remote one down), STS_PORT_IN_USE (something else holds
 * the port), STS_STARTUP_FAILED (the simulator exited or never answered /health).
 */

export interface SimulatorSpec {
  /** Its name in `sts status`: 'bank-simulator'. */
  name: string;
  /** How errors name the local simulator: 'bank simulator'. */
  label: string;
  /** Its folder under STS_DATA_DIR, also the prefix of progress lines: 'bank'. */
  dir: string;
  /** The variable that sets its URL, passed on to the process and named in fixes. */
  urlVariable: string;
  url(config: StsConfig): string;
  /** Its main.ts. */
  main: string;
  /** Flags after --port, --host and --journal-dir. */
  args?(config: StsConfig): string[];
  /** What a non-loopback URL points at, and the fix when it does not answer. */
  remote: { label: string; fix: string };
}

const READY_TIMEOUT_MS = 30_000;

/** The last lines of a simulator's log, on one line, for an error message. */
const logTail = (log: string) => tail(log, 2).replace(/\s+/g, ' ').slice(0, 300);

export function simulatorComponent(spec: SimulatorSpec) {
  function paths(dataDir: string) {
    const root = path.join(dataDir, spec.dir);
    return { root, log: path.join(root, 'simulator.log'), pid: path.join(root, 'simulator.pid') };
  }

  async function up(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
    const first = await status(config);
    if (first.state === 'up') return first;
    const url = new URL(spec.url(config));
    if (!isLocal(url)) {
      throw new ServiceUnavailableError(
        spec.remote.label,
        url.host,
        first.detail ?? 'no answer on /health',
        spec.remote.fix,
      );
    }
    const p = paths(config.dataDir);
    const own = livePid(p.pid);
    if (own !== undefined) {
      report(
        `${spec.dir}: the simulator (pid ${own}) runs but did not answer /health; waiting for it`,
      );
      const back = await untilHealthy(config);
      if (back.value) return status(config);
      if (!back.aborted)
        throw new StartupFailedError(
          spec.label,
          `pid ${own} runs but has not answered /health for ${READY_TIMEOUT_MS / 1000} s: ${logTail(p.log)}`,
          p.log,
        );
      // It exited meanwhile: start a new one below.
    }
    const port = Number(url.port || 80);
    if (await isPortOpen('127.0.0.1', port)) {
      throw new PortInUseError(
        spec.label,
        port,
        `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or set ${spec.urlVariable} to another port`,
      );
    }
    fs.mkdirSync(p.root, { recursive: true });
    const flags = ['--port', String(port), '--host', '127.0.0.1', '--journal-dir', p.root];
    const pid = spawnDetached({
      command: process.execPath,
      args: ['-r', 'tsx/cjs', spec.main, ...flags, ...(spec.args?.(config) ?? [])],
      cwd: PROJECT_ROOT,
      env: { ...process.env, [spec.urlVariable]: spec.url(config), STS_DATA_DIR: config.dataDir },
      logFile: p.log,
      pidFile: p.pid,
    });
    report(`${spec.dir}: started the simulator, pid ${pid}`);
    const ready = await untilHealthy(config);
    if (!ready.value) {
      await stopProcess(p.pid, 5000);
      throw new StartupFailedError(
        spec.label,
        `${ready.aborted ?? 'no answer on /health in time'}: ${logTail(p.log)}`,
        p.log,
      );
    }
    return status(config);
  }

  /** Until /health answers, READY_TIMEOUT_MS at most; aborted once the simulator's process is gone. */
  function untilHealthy(config: StsConfig) {
    const pidFile = paths(config.dataDir).pid;
    return waitFor(async () => ((await status(config)).state === 'up' ? true : undefined), {
      timeoutMs: READY_TIMEOUT_MS,
      abort: () => (livePid(pidFile) === undefined ? 'the simulator exited' : undefined),
    });
  }

  async function down(config: StsConfig): Promise<boolean> {
    return stopProcess(paths(config.dataDir).pid, 10_000);
  }

  async function status(config: StsConfig): Promise<ComponentStatus> {
    const pid = livePid(paths(config.dataDir).pid);
    const address = spec.url(config);
    const base = { name: spec.name, address, managed: pid !== undefined, pid };
    const started = process.hrtime.bigint();
    try {
      const res = await fetch(`${address}/health`, { signal: AbortSignal.timeout(2000) });
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

  return { paths, up, down, status };
}

function isLocal(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost';
}
