import fs from 'node:fs';
import path from 'node:path';
import { databaseName, PROJECT_ROOT, type StsConfig } from '../runtime/config';
import { createDb } from '../runtime/db/knex';
import { migrateLatest } from '../runtime/db/migrate';
import { createKafka } from '../runtime/kafka/client';
import { ensureTopics } from '../runtime/kafka/topic-admin';
import { RegistryClient } from '../runtime/registry/registry-client';
import { registerTopologySchemas } from '../runtime/registry/schema-registration';
import { assertTopology } from '../runtime/topology/validate';
import { settlementTopology } from '../topologies/settlement';
import type { ComponentStatus, Reporter } from './component';
import { gatewayDown, gatewayStatus, gatewayUp } from './gateway-simulator/stack-component';
import { kafkaDown, kafkaStatus, kafkaUp } from './kafka-broker';
import { mysqlDown, mysqlStatus, mysqlUp } from './mysql-server';
import { isAlive, sleep } from './process-control';
import { redisDown, redisStatus, redisUp } from './redis-server';
import { registryDown, registryStatus, registryUp } from './schema-registry';

export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');

/**
 * `sts up`: start (or adopt) every component, then apply the topology: migrations, topics, DLQs
 * and schemas. Idempotent: on a running stack it only re-checks, which costs about a second.
 * A file lock serialises concurrent callers (two test runs, a demo and a test).
 */
export async function stackUp(config: StsConfig, report: Reporter): Promise<ComponentStatus[]> {
  assertTopology(settlementTopology, SCHEMAS_DIR);
  fs.mkdirSync(config.dataDir, { recursive: true });
  return withLock(path.join(config.dataDir, 'up.lock'), async () => {
    const [mysql, redis, kafka, gateway] = await Promise.all([mysqlUp(config, report), redisUp(config, report), kafkaUp(config, report), gatewayUp(config, report)]);
    const registry = await registryUp(config, report);

    const db = createDb(config.mysqlUrl);
    try {
      const applied = await migrateLatest(db);
      if (applied.length > 0) report(`mysql: applied migrations ${applied.join(', ')} to ${databaseName(config.mysqlUrl)}`);
    } finally {
      await db.destroy();
    }
    const { created } = await ensureTopics(createKafka(config, 'sts-up'), settlementTopology);
    if (created.length > 0) report(`kafka: created ${created.length} topics`);
    await registerTopologySchemas(new RegistryClient(config.schemaRegistryUrl), settlementTopology, SCHEMAS_DIR);
    return [kafka, registry, mysql, redis, gateway];
  });
}

/** `sts down`: stops what `up` started (pid files), registry first since it journals to Kafka. */
export async function stackDown(config: StsConfig): Promise<string[]> {
  const stopped: string[] = [];
  if (await gatewayDown(config)) stopped.push('gateway-simulator');
  if (await registryDown(config)) stopped.push('schema-registry');
  if (await kafkaDown(config)) stopped.push('kafka');
  if (await mysqlDown(config)) stopped.push('mysql');
  if (await redisDown(config)) stopped.push('redis');
  return stopped;
}

export async function stackStatus(config: StsConfig): Promise<ComponentStatus[]> {
  return Promise.all([kafkaStatus(config), registryStatus(config), mysqlStatus(config), redisStatus(config), gatewayStatus(config)]);
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
