import { dlqTopic, valueSubject, type Topology } from './types';

/**
 * Renders the declared graph for people: plain text for a terminal and a Mermaid flowchart for
 * docs. Pure functions of the declaration, so what `sts topology` prints cannot drift from what
 * `sts up` creates.
 */

export function renderTopologyText(t: Topology): string {
  const lines: string[] = [`topology ${t.name}`, '', 'topics:'];
  for (const topic of t.topics) {
    lines.push(`  ${topic.name}  (${topic.partitions} partitions)`);
    lines.push(`    subject  ${valueSubject(topic.name)}  (schemas/${topic.schema})`);
    lines.push(`    dlq      ${topic.dlq ? dlqTopic(topic.name) : 'NONE'}`);
    lines.push(`    ${topic.description}`);
  }
  lines.push('', 'processors:');
  for (const p of t.processors) {
    lines.push(`  ${p.name}  (group ${p.group})`);
    lines.push(`    reads   ${p.input}`);
    lines.push(`    writes  ${p.outputs.length ? p.outputs.join(', ') : '-'}`);
    lines.push(`    ${p.description}`);
  }
  lines.push('', 'external:');
  for (const node of t.external) {
    const io = [
      node.outputs?.length ? `publishes ${node.outputs.join(', ')}` : '',
      node.inputs?.length ? `subscribes ${node.inputs.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(`  ${node.name}  ${io.join('; ')}`);
    lines.push(`    ${node.description}`);
  }
  return lines.join('\n');
}

/** Mermaid node ids allow only word characters; topic names carry dots and dashes. */
const id = (kind: string, name: string) => `${kind}_${name.replace(/\W/g, '_')}`;
/** Labels go inside double quotes; Mermaid has no escape for a quote, so use its entity. */
const label = (text: string) => `"${text.replace(/"/g, '#quot;')}"`;

export function renderTopologyMermaid(t: Topology): string {
  const lines = ['flowchart LR'];
  for (const topic of t.topics) {
    lines.push(
      `  ${id('t', topic.name)}[(${label(`${topic.name}<br/>${topic.partitions} partitions`)})]`,
    );
    if (topic.dlq) {
      lines.push(`  ${id('t', dlqTopic(topic.name))}[(${label(dlqTopic(topic.name))})]`);
      lines.push(`  ${id('t', topic.name)} -. dead letters .-> ${id('t', dlqTopic(topic.name))}`);
    }
  }
  for (const p of t.processors) {
    lines.push(`  ${id('p', p.name)}[${label(`${p.name}<br/>group ${p.group}`)}]`);
    lines.push(`  ${id('t', p.input)} --> ${id('p', p.name)}`);
    for (const out of p.outputs) lines.push(`  ${id('p', p.name)} -- outbox --> ${id('t', out)}`);
  }
  for (const node of t.external) {
    lines.push(`  ${id('x', node.name)}{{${label(node.name)}}}`);
    for (const out of node.outputs ?? []) lines.push(`  ${id('x', node.name)} --> ${id('t', out)}`);
    for (const input of node.inputs ?? [])
      lines.push(`  ${id('t', input)} --> ${id('x', node.name)}`);
  }
  return lines.join('\n');
}
