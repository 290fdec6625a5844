import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, PROJECT_ROOT } from '../../../runtime/config';
import { createKafka, probeKafka } from '../../../runtime/kafka/client';
import { replicationDrift } from '../../../runtime/kafka/topic-admin';
import type { Topology } from '../../../runtime/topology/types';
import { TopologyError } from '../../../runtime/topology/topology-errors';
import { renderTopologyMermaid, renderTopologyText } from '../../../runtime/topology/render';
import { topologyProblems } from '../../../runtime/topology/validate';
import { settlementTopology } from '../../../topologies/settlement';
import { toJson } from '../output';

interface TopologyOptions {
  json?: boolean;
  mermaid?: boolean;
  check?: boolean;
}

/**
 * The running cluster's topics against what its size asks for (replication factor and
 * min.insync.replicas); a cluster that does not answer is said on stderr, not failed: the
 * declaration can be checked offline.
 */
async function liveDrift(topology: Topology): Promise<string[]> {
  const config = loadConfig();
  try {
    await probeKafka(config.kafkaBrokers, 3000);
  } catch {
    process.stderr.write(`Kafka at ${config.kafkaBrokers.join(',')} does not answer: live topics not compared\n`);
    return [];
  }
  return replicationDrift(createKafka(config, 'sts-topology'), topology);
}

export function registerTopologyCommand(program: Command): void {
  program
    .command('topology')
    .description(
      'print the declared graph: topics, partitions, DLQs, subjects, processors and groups',
    )
    .option('--json', 'print the declaration as JSON')
    .option('--mermaid', 'print a Mermaid flowchart')
    .option('--check', "validate the declaration and, when Kafka answers, the live topics' replication; exit non-zero listing every problem")
    .action(async (opts: TopologyOptions) => {
      const topology = settlementTopology;
      if (opts.check) {
        const problems = topologyProblems(topology, path.join(PROJECT_ROOT, 'schemas'));
        problems.push(...(await liveDrift(topology)));
        // Thrown, not printed: reportError gives it the same cause/fix lines and exit code as
        // every other failure, in text or --json.
        if (problems.length > 0) throw new TopologyError(problems);
        if (opts.json) process.stdout.write(`${toJson({ ok: true, problems })}\n`);
        else
          process.stdout.write(
            `topology ${topology.name}: ok (${topology.topics.length} topics, ${topology.processors.length} processors)\n`,
          );
        return;
      }
      if (opts.json) process.stdout.write(`${toJson(topology)}\n`);
      else if (opts.mermaid) process.stdout.write(`${renderTopologyMermaid(topology)}\n`);
      else process.stdout.write(`${renderTopologyText(topology)}\n`);
    });
}
