import fs from 'node:fs';
import Redis from 'ioredis';
import type { StsConfig } from '../runtime/config';
import { PrerequisiteMissingError, ServiceUnavailableError, StartupFailedError } from './stack-errors';
import type { ComponentStatus, Reporter } from './component';
import { stackPaths } from './paths';
import { waitFor } from './ports';
import { livePid, spawnDetached, stopProcess, tail, which } from './process-control';

/**
 * Redis. Like MySQL: the running server is used; else a private one is started if redis-server is
 * installed. It persists nothing: Redis only ever holds state rebuilt from the database.
 *
 * Failure codes: STS_SERVICE_UNAVAILABLE, STS_PREREQUISITE_MISSING, STS_STARTUP_FAILED.
 */

export async function redisUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const first = await redisStatus(config);
  if (first.state === 'up') return first;
  const url = new URL(config.redisUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new ServiceUnavailableError('Redis', url.host, first.detail ?? 'no answer', 'start that server, or unset STS_REDIS_URL to use the local Redis');
  }
  const server = which('redis-server');
  if (!server) throw new PrerequisiteMissingError('Redis server', 'apt-get install redis-server, or set STS_REDIS_URL to a reachable Redis');
  const p = stackPaths(config.dataDir).redis;
  fs.mkdirSync(p.root, { recursive: true });
  spawnDetached({
    command: server,
    args: ['--port', url.port || '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', p.root],
    logFile: p.log,
    pidFile: p.pid,
  });
  report('redis: started a private redis-server…');
  const ready = await waitFor(async () => ((await redisStatus(config)).state === 'up' ? true : undefined), {
    timeoutMs: 20_000,
    abort: () => (livePid(p.pid) === undefined ? 'redis-server exited' : undefined),
  });
  if (!ready.value) throw new StartupFailedError('Redis', `${ready.aborted ?? 'not ready'}: ${tail(p.log, 2)}`, p.log);
  return redisStatus(config);
}

export async function redisDown(config: StsConfig): Promise<boolean> {
  return stopProcess(stackPaths(config.dataDir).redis.pid, 20_000);
}

export async function redisStatus(config: StsConfig): Promise<ComponentStatus> {
  const pid = livePid(stackPaths(config.dataDir).redis.pid);
  const base = { name: 'redis', address: new URL(config.redisUrl).host, managed: pid !== undefined, pid };
  const client = new Redis(config.redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const started = process.hrtime.bigint();
    await client.ping();
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    return { ...base, state: 'up', latencyMs, version };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    client.disconnect();
  }
}
