import { databaseName, type StsConfig } from '../config';
import { createDb } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { createKafka } from '../kafka/client';
import { ensureTopics } from '../kafka/topic-admin';
import { RegistryClient } from '../registry/registry-client';
import { registerTopologySchemas } from '../registry/schema-registration';
import type { Topology } from './types';
import { assertTopology } from './validate';

/**
 * Gives running services what a topology needs: the database's migrations, every topic and its
 * DLQ, and every value schema under `<topic>-value`. Idempotent: on a provisioned stack it only
 * re-checks. `report` gets a line for each thing it changed.
 */
export async function applyTopology(config: StsConfig, topology: Topology, schemasDir: string, report: (line: string) => void): Promise<void> {
  assertTopology(topology, schemasDir);
  const db = createDb(config.mysqlUrl);
  try {
    const applied = await migrateLatest(db);
    if (applied.length > 0) report(`mysql: applied migrations ${applied.join(', ')} to ${databaseName(config.mysqlUrl)}`);
  } finally {
    await db.destroy();
  }
  const { created } = await ensureTopics(createKafka(config, 'sts-up'), topology);
  if (created.length > 0) report(`kafka: created ${created.length} topics`);
  await registerTopologySchemas(new RegistryClient(config.schemaRegistryUrl), topology, schemasDir);
}
