import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { StsConfig } from '../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from './stack-errors';
import { registryError } from '../runtime/registry/registry-client';
import type { ComponentStatus, Reporter } from './component';
import { findJava } from './java';
import { fetchWithMaven } from './maven';
import { stackPaths } from './paths';
import { isPortOpen, waitFor } from './ports';
import { livePid, spawnDetached, stopProcess, tail } from './process-control';

/**
 * Apicurio Registry 3.x, serving the Confluent-compatible API at /apis/ccompat/v7.
 *
 * Version: 3.0.9 is the newest 3.x whose archive runs on Java 17 (3.3.x is built for Java 21).
 * Its parent POM is absent from Central, so the archive is fetched with `dependency:copy` (one
 * artifact, no descriptor walk) rather than `copy-dependencies`.
 *
 * Storage: kafkasql, a journal topic on our own broker, so registered schemas survive a restart of
 * the registry and need no second database.
 *
 * Failure codes: STS_PORT_IN_USE, STS_ARTIFACT_UNAVAILABLE, STS_STARTUP_FAILED.
 */

export const APICURIO_VERSION = '3.0.9';
const ARTIFACT = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;
const READY_TIMEOUT_MS = 90_000;

export function isLocalRegistry(config: StsConfig): boolean {
  const u = new URL(config.schemaRegistryUrl);
  return u.hostname === '127.0.0.1' || u.hostname === 'localhost';
}

export async function registryUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const p = stackPaths(config.dataDir).registry;
  const existing = await registryStatus(config);
  if (existing.state === 'up') return existing;
  const url = new URL(config.schemaRegistryUrl);
  if (!isLocalRegistry(config)) {
    throw new ServiceUnavailableError('schema registry', config.schemaRegistryUrl, undefined, 'start that registry, or unset STS_SCHEMA_REGISTRY_URL to use the local one');
  }
  const port = Number(url.port || 80);
  if (await isPortOpen(url.hostname, port)) {
    throw new PortInUseError('schema registry', port, `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or set STS_SCHEMA_REGISTRY_URL to an existing registry`);
  }

  const java = findJava();
  report('registry: fetching Apicurio Registry with Maven (first run only)…');
  await fetchWithMaven({ label: `Apicurio Registry ${APICURIO_VERSION}`, artifact: ARTIFACT, outputDir: p.dist });
  const jar = unpack(p.dist, p.app);

  const pid = spawnDetached({
    command: java,
    args: [`-Xmx${process.env.STS_REGISTRY_HEAP ?? '384m'}`, '-XX:+UseSerialGC', '-jar', jar],
    cwd: p.app,
    env: {
      ...process.env,
      QUARKUS_HTTP_HOST: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname,
      QUARKUS_HTTP_PORT: String(port),
      APICURIO_STORAGE_KIND: 'kafkasql',
      APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: config.kafkaBrokers.join(','),
      QUARKUS_LOG_LEVEL: 'WARN',
      QUARKUS_HTTP_ACCESS_LOG_ENABLED: 'false',
    },
    logFile: p.log,
    pidFile: p.pid,
  });
  report(`registry: started pid ${pid}, waiting for ${config.schemaRegistryUrl}…`);
  const started = Date.now();
  const ready = await waitFor(async () => ((await ccompatProbe(config.schemaRegistryUrl)) ? true : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 500,
    abort: () => (livePid(p.pid) === undefined ? 'the registry process exited' : undefined),
  });
  if (!ready.value) {
    await stopProcess(p.pid, 5000);
    throw new StartupFailedError('schema registry', `${ready.aborted ?? 'not ready in time'}: ${tail(p.log, 2).replace(/\s+/g, ' ').slice(0, 300)}`, p.log);
  }
  await setGlobalCompatibility(config.schemaRegistryUrl, 'BACKWARD');
  report(`registry: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return registryStatus(config);
}

export async function registryDown(config: StsConfig): Promise<boolean> {
  return stopProcess(stackPaths(config.dataDir).registry.pid, 30_000);
}

export async function registryStatus(config: StsConfig): Promise<ComponentStatus> {
  const pid = livePid(stackPaths(config.dataDir).registry.pid);
  const base = { name: 'schema-registry', address: config.schemaRegistryUrl, managed: pid !== undefined, pid };
  const started = process.hrtime.bigint();
  const ok = await ccompatProbe(config.schemaRegistryUrl);
  const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
  if (!ok) return { ...base, state: 'down' };
  return { ...base, state: 'up', latencyMs, version: await apicurioVersion(config.schemaRegistryUrl) };
}

/** The registry's global default; `sts up` sets BACKWARD so every subject inherits it. */
export async function setGlobalCompatibility(baseUrl: string, level: 'BACKWARD' | 'NONE'): Promise<void> {
  const res = await fetch(`${baseUrl}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw registryError(`setting compatibility failed: HTTP ${res.status} ${await res.text()}`, res.status);
}

async function ccompatProbe(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/subjects`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function apicurioVersion(ccompatUrl: string): Promise<string | undefined> {
  try {
    const root = ccompatUrl.replace(/\/apis\/ccompat\/v7$/, '');
    const res = await fetch(`${root}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const info = (await res.json()) as { version?: string };
    return info.version;
  } catch {
    return undefined;
  }
}

/** Unpacks the archive once and returns the runnable jar; its name differs between 3.x releases. */
function unpack(distDir: string, appDir: string): string {
  const findJar = () => {
    if (!fs.existsSync(appDir)) return undefined;
    const names = fs.readdirSync(appDir);
    const jar = names.find((n) => n === 'quarkus-run.jar') ?? names.find((n) => n.endsWith('-runner.jar'));
    return jar ? path.join(appDir, jar) : undefined;
  };
  const have = findJar();
  if (have) return have;
  const archive = fs.readdirSync(distDir).find((n) => n.endsWith('.tar.gz'));
  if (!archive) throw new StartupFailedError('schema registry', `no archive in ${distDir}`, distDir);
  fs.mkdirSync(appDir, { recursive: true });
  const res = spawnSync('tar', ['xzf', path.join(distDir, archive), '-C', appDir], { encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) throw new StartupFailedError('schema registry', `unpacking ${archive}: ${res.stderr}`, distDir);
  const jar = findJar();
  if (!jar) throw new StartupFailedError('schema registry', `${archive} has neither quarkus-run.jar nor *-runner.jar`, appDir);
  return jar;
}
