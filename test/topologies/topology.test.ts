import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { TopologyError } from '../../runtime/topology/topology-errors';
import { renderTopologyMermaid, renderTopologyText } from '../../runtime/topology/render';
import { dlqTopic, valueSubject, type Topology } from '../../runtime/topology/types';
import { assertTopology, topologyProblems } from '../../runtime/topology/validate';
import { settlementTopology } from '../../topologies/settlement';
import { runCli } from '../fixtures/cli';

const schemasDir = path.join(PROJECT_ROOT, 'schemas');

/**
 * The declared topology with three mistakes its check must catch: a topic without a DLQ, an
 * undeclared input and a shared input (docs/DESIGN.md, "Topology" and lesson 4).
 */
function brokenTopology(): Topology {
  const t = structuredClone(settlementTopology);
  t.topics.find((x) => x.name === 'sts.payouts.v1')!.dlq = false;
  t.processors.push(
    {
      name: 'ghost',
      group: 'sts.ghost',
      input: 'sts.not-declared.v1',
      outputs: [],
      description: 'reads a topic nobody declared',
    },
    {
      name: 'sharer',
      group: 'sts.sharer',
      input: 'sts.order-events.v1',
      outputs: [],
      description: 'shares an input topic',
    },
  );
  return t;
}

describe('topology declaration', () => {
  it('has no problems as declared', () => {
    expect(topologyProblems(settlementTopology, schemasDir)).toEqual([]);
  });

  it('reports a topic without a DLQ, an undeclared input and a shared input, each on its own', () => {
    const problems = topologyProblems(brokenTopology(), schemasDir);
    expect(problems).toEqual([
      'topic sts.payouts.v1 has no DLQ',
      'processor ghost reads undeclared topic sts.not-declared.v1',
      'processors settlement-aggregation and sharer share input sts.order-events.v1; each needs its own topic',
    ]);
    expect(() => assertTopology(brokenTopology(), schemasDir)).toThrow(TopologyError);
  });
});

describe('topology rendering', () => {
  it('lists every topic with partitions, DLQ and subject, and every processor with its group', () => {
    const text = renderTopologyText(settlementTopology);
    for (const topic of settlementTopology.topics) {
      expect(text).toContain(`${topic.name}  (${topic.partitions} partitions)`);
      expect(text).toContain(dlqTopic(topic.name));
      expect(text).toContain(valueSubject(topic.name));
    }
    for (const p of settlementTopology.processors)
      expect(text).toContain(`${p.name}  (group ${p.group})`);
  });

  it('says NONE for a topic without a DLQ instead of hiding it', () => {
    expect(renderTopologyText(brokenTopology())).toMatch(
      /sts\.payouts\.v1 {2}\(12 partitions\)\n.*\n {4}dlq {6}NONE/,
    );
  });

  it('draws every topic, DLQ, processor and external node in the Mermaid flowchart', () => {
    const mermaid = renderTopologyMermaid(settlementTopology);
    expect(mermaid.split('\n')[0]).toBe('flowchart LR');
    for (const topic of settlementTopology.topics) {
      expect(mermaid).toContain(`"${topic.name}<br/>`);
      expect(mermaid).toContain(`"${dlqTopic(topic.name)}"`);
    }
    for (const p of settlementTopology.processors)
      expect(mermaid).toContain(`"${p.name}<br/>group ${p.group}"`);
    for (const x of settlementTopology.external) expect(mermaid).toContain(`"${x.name}"`);
    // Node ids must be bare words: a dot or dash in an id breaks Mermaid's parser.
    const ids = [...mermaid.matchAll(/^ {2}(\S+?)[[{(]/gm)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^\w+$/);
  });
});

describe('sts topology', () => {
  it('--check exits 0 on the declared topology', async () => {
    const res = await runCli(['topology', '--check']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('topology settlement: ok');
  });

  it('--json prints the declaration itself', async () => {
    const res = await runCli(['topology', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(settlementTopology);
  });
});
