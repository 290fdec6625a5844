import fs from 'node:fs';
import path from 'node:path';
import { valueSubject, type Topology } from '../topology/types';
import type { RegistryClient } from './registry-client';

/** Registers every topic's value schema as `<topic>-value` with BACKWARD compatibility. */
export async function registerTopologySchemas(registry: RegistryClient, topology: Topology, schemasDir: string) {
  const ids: Record<string, number> = {};
  for (const topic of topology.topics) {
    const schema = fs.readFileSync(path.join(schemasDir, topic.schema), 'utf8');
    ids[valueSubject(topic.name)] = await registry.register(valueSubject(topic.name), schema);
  }
  return ids;
}
