import fs from 'node:fs';
import path from 'node:path';
import { TopologyError } from './topology-errors';
import type { Topology } from './types';

/**
 * Checks the declaration: every topic has a schema file and a DLQ, every processor reads a
 * declared topic that no other processor reads (docs/DESIGN.md, lesson 4: one topic per processor),
 * and groups follow `sts.<processor>`. Returns the problems; `assertTopology` throws them.
 */
export function topologyProblems(t: Topology, schemasDir: string): string[] {
  const problems: string[] = [];
  const topics = new Map(t.topics.map((x) => [x.name, x]));
  if (topics.size !== t.topics.length) problems.push('a topic is declared twice');
  for (const topic of t.topics) {
    if (!topic.schema) problems.push(`topic ${topic.name} has no schema`);
    else if (!fs.existsSync(path.join(schemasDir, topic.schema))) problems.push(`topic ${topic.name}: schema file schemas/${topic.schema} is missing`);
    if (!topic.dlq) problems.push(`topic ${topic.name} has no DLQ`);
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1) problems.push(`topic ${topic.name}: partitions must be a positive integer`);
  }
  const readers = new Map<string, string>();
  for (const p of t.processors) {
    if (!topics.has(p.input)) problems.push(`processor ${p.name} reads undeclared topic ${p.input}`);
    const other = readers.get(p.input);
    if (other) problems.push(`processors ${other} and ${p.name} share input ${p.input}; each needs its own topic`);
    readers.set(p.input, p.name);
    if (p.group !== `sts.${p.name}`) problems.push(`processor ${p.name}: group must be sts.${p.name}, not ${p.group}`);
    for (const out of p.outputs) if (!topics.has(out)) problems.push(`processor ${p.name} writes undeclared topic ${out}`);
  }
  for (const node of t.external) {
    for (const x of [...(node.inputs ?? []), ...(node.outputs ?? [])]) {
      if (!topics.has(x)) problems.push(`${node.name} names undeclared topic ${x}`);
    }
  }
  return problems;
}

export function assertTopology(t: Topology, schemasDir: string): void {
  const problems = topologyProblems(t, schemasDir);
  if (problems.length > 0) throw new TopologyError(problems);
}
