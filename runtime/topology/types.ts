/**
 * The pipeline's graph as data. Topic creation, schema registration, `sts topology` and its checks
 * all read one declaration (topologies/), so the docs and the broker cannot drift apart.
 */

export interface TopicSpec {
  name: string;
  partitions: number;
  /** File in schemas/ holding the value schema; registered as `<topic>-value`. */
  schema: string;
  /** Every input topic has `<topic>.dlq` for messages that cannot be processed. */
  dlq: boolean;
  description: string;
}

export interface ProcessorSpec {
  /** Folder name under processors/. */
  name: string;
  /** Consumer group: `sts.<name>`. */
  group: string;
  /** The processor's own dedicated input topic. */
  input: string;
  /** Topics it publishes to (through the outbox). */
  outputs: string[];
  description: string;
}

export interface ExternalNode {
  name: string;
  outputs?: string[];
  inputs?: string[];
  description: string;
}

export interface Topology {
  name: string;
  topics: TopicSpec[];
  processors: ProcessorSpec[];
  /** Upstream systems, intake and downstream teams: nodes we do not run as consumers. */
  external: ExternalNode[];
}

export const dlqTopic = (topic: string) => `${topic}.dlq`;
export const valueSubject = (topic: string) => `${topic}-value`;
