import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../runtime/config';
import { TopologyError } from '../runtime/topology/topology-errors';
import { settlementTopology, type TopicName } from '../topologies/settlement';

/**
 * One Avro contract: the topic that owns it, its schema file in schemas/, and (through `T`) the
 * TypeScript shape of its decoded value, longs as bigint. Producers and consumers import the same
 * contract, so the outbox writer only accepts a value of the contract's type for its topic, and a
 * consumer reads with the contract's schema as its reader schema.
 *
 * The topic and schema file come from the topology (topologies/settlement.ts): a contract names
 * its topic there and nowhere else.
 */
/** The Avro schemas, one file per topic. */
export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');

export interface Contract<T> {
  readonly topic: TopicName;
  /** File in schemas/ holding the value schema, registered as `<topic>-value`. */
  readonly schemaFile: string;
  /** The schema this version of the code reads with; later writers resolve into it. */
  readonly readerSchema: object;
  /** Never set: it only carries `T`, so a Contract<A> is not a Contract<B>. */
  readonly _value?: T;
}

export function contractFor<T>(topic: TopicName): Contract<T> {
  const spec = settlementTopology.topics.find((t) => t.name === topic);
  if (!spec) throw new TopologyError([`contract for ${topic}, which the topology does not declare`]);
  let schema: object | undefined;
  return {
    topic,
    schemaFile: spec.schema,
    // Read on first use: most processes import every contract and read one or two.
    get readerSchema(): object {
      schema ??= JSON.parse(fs.readFileSync(path.join(SCHEMAS_DIR, spec.schema), 'utf8')) as object;
      return schema;
    },
  };
}
