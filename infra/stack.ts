import fs from 'node:fs';
import path from 'node:path';
import type { StsConfig } from '../runtime/config';
import { bankDown, bankStatus, bankUp } from './bank-simulator/stack-component';
import type { ComponentStatus, Reporter } from './component';
import { galeraDown, galeraStatuses, galeraUp } from './galera-cluster';
import { gatewayDown, gatewayStatus, gatewayUp } from './gateway-simulator/stack-component';
import { kafkaDown, kafkaStatuses, kafkaUp } from './kafka-broker';
import { mysqlDown, mysqlStatus, mysqlUp } from './mysql-server';
import { isAlive, sleep } from './process-control';
import { redisDown, redisStatus, redisUp } from './redis-server';
import { registryDown, registryStatus, registryUp } from './schema-registry';

/**
 * What the application needs once the services answer (its migrations, topics and schemas),
 * declared by the application, not here: infra starts processes and knows nothing of the pipeline.
 */
export type AfterStart = () => Promise<void>;

/**
 * `sts up`: start (or adopt) every component, then run `afterStart` (the application applies its
 * topology there). Idempotent: on a running stack it only re-checks, which costs about a second.
 * A file lock serialises concurrent callers (two test runs, a demo and a test), `afterStart`
 * included.
 */
export async function stackUp(config: StsConfig, report: Reporter, afterStart?: AfterStart): Promise<ComponentStatus[]> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  return withLock(path.join(config.dataDir, 'up.lock'), async () => {
    const [mysql, redis, kafka, gateway, bank] = await Promise.all([databaseUp(config, report), redisUp(config, report), kafkaUp(config, report), gatewayUp(config, report), bankUp(config, report)]);
    const registry = await registryUp(config, report);
    await afterStart?.();
    return [kafka, registry, ...mysql, redis, gateway, bank];
  });
}

/** `sts down`: stops what `up` started (pid files), registry first since it journals to Kafka. */
export async function stackDown(config: StsConfig): Promise<string[]> {
  const stopped: string[] = [];
  if (await gatewayDown(config)) stopped.push('gateway-simulator');
  if (await bankDown(config)) stopped.push('bank-simulator');
  if (await registryDown(config)) stopped.push('schema-registry');
  if (await kafkaDown(config)) stopped.push('kafka');
  if (await mysqlDown(config)) stopped.push('mysql');
  // Whatever STS_MYSQL_NODES says now: a cluster started under another setting is still ours.
  stopped.push(...(await galeraDown(config)));
  if (await redisDown(config)) stopped.push('redis');
  return stopped;
}

export async function stackStatus(config: StsConfig): Promise<ComponentStatus[]> {
  const [kafka, registry, mysql, ...rest] = await Promise.all([kafkaStatuses(config), registryStatus(config), databaseStatuses(config), redisStatus(config), gatewayStatus(config), bankStatus(config)]);
  return [...kafka, registry, ...mysql, ...rest];
}

/** The single MariaDB/MySQL server, or with STS_MYSQL_NODES above 1 a local Galera cluster. */
async function databaseUp(config: StsConfig, report: Reporter): Promise<ComponentStatus[]> {
  return config.mysqlNodes > 1 ? galeraUp(config, report) : [await mysqlUp(config, report)];
}

async function databaseStatuses(config: StsConfig): Promise<ComponentStatus[]> {
  return config.mysqlNodes > 1 ? galeraStatuses(config) : [await mysqlStatus(config)];
}

async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lockFile, 'utf8') || 0);
      if (!holder || !isAlive(holder)) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another \`sts up\` (pid ${holder}) holds ${lockFile}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
