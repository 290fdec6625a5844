import type { ClusterSample, ReplicaView } from './cluster-sampler';
import type { GroupReport } from './lag-evaluator';
import type { LagReport } from './lag-monitor';

/**
 * How a lag report is shown: the JSON of `sts lag --json` and GET /lag (times as ISO 8601,
 * offsets and lag as decimal strings once serialised, rates per second, ETA in seconds or null
 * for "never"), and the operator's table.
 */
export function lagJson(report: LagReport) {
  const replicas = replicaIndex(report.cluster);
  return {
    at: new Date(report.at).toISOString(),
    ...(report.cluster ? { cluster: clusterJson(report.cluster) } : {}),
    groups: report.groups.map((g) => ({
      group: g.group,
      topic: g.topic,
      state: g.state,
      members: g.members,
      status: g.status,
      reason: g.reason,
      lag: g.lag,
      lagSeconds: round(g.lagSeconds),
      consumeRate: round(g.consumeRate),
      produceRate: round(g.produceRate),
      etaSeconds: g.etaSeconds === null ? null : round(g.etaSeconds),
      ...(g.error ? { error: g.error } : {}),
      partitions: g.partitions.map((p) => ({
        partition: p.partition,
        committed: p.committed,
        logStart: p.logStart,
        end: p.end,
        lag: p.lag,
        nextOffset: p.nextOffset,
        lagSeconds: round(p.lagSeconds),
        consumeRate: round(p.consumeRate),
        produceRate: round(p.produceRate),
        etaSeconds: p.etaSeconds === null ? null : round(p.etaSeconds),
        status: p.status,
        reason: p.reason,
        owner: p.owner,
        ...replicaFields(replicas.get(`${g.topic}\u0000${p.partition}`)),
      })),
    })),
  };
}

/** The cluster's lines, then one block per group and topic: a summary line, then its partitions. */
export function lagTable(report: LagReport): string {
  const replicas = replicaIndex(report.cluster);
  const blocks = report.groups.map((g) =>
    [groupLine(g), partitionTable(g, replicas)].filter(Boolean).join('\n'),
  );
  const cluster = report.cluster ? `${clusterLines(report.cluster)}\n\n` : '';
  return `lag at ${new Date(report.at).toISOString()}\n\n${cluster}${blocks.join('\n\n')}\n`;
}

function clusterJson(c: ClusterSample) {
  return {
    brokers: c.brokers,
    down: c.brokers.filter((b) => !b.up).map((b) => b.id),
    underReplicated: c.underReplicated,
    offline: c.offline,
    ...(c.error ? { error: c.error } : {}),
  };
}

/** "cluster: 3 brokers, 1 down (2); 14 of 40 partitions under-replicated", then the worst ones. */
function clusterLines(c: ClusterSample): string {
  if (c.error) return `cluster: could not be read (${c.error})`;
  const down = c.brokers.filter((b) => !b.up).map((b) => b.id);
  const head = `cluster: ${c.brokers.length} broker${c.brokers.length === 1 ? '' : 's'}, ${down.length === 0 ? 'all up' : `${down.length} down (${down.join(', ')})`}; ${c.underReplicated} of ${c.partitions.length} partitions under-replicated${c.offline > 0 ? `, ${c.offline} OFFLINE (no leader)` : ''}`;
  const worst = c.partitions
    .filter((p) => p.leader < 0 || p.isr.length < p.replicas.length)
    .slice(0, 10);
  return [
    head,
    ...worst.map(
      (p) =>
        `  ${p.topic}[${p.partition}] leader ${p.leader < 0 ? 'none' : p.leader}, replicas ${p.replicas.join(',')}, in sync ${p.isr.join(',') || 'none'}`,
    ),
  ].join('\n');
}

function replicaIndex(c: ClusterSample | undefined): Map<string, ReplicaView> {
  return new Map((c?.partitions ?? []).map((p) => [`${p.topic}\u0000${p.partition}`, p]));
}

function replicaFields(r: ReplicaView | undefined) {
  return r ? { leader: r.leader, replicas: r.replicas, isr: r.isr } : {};
}

function groupLine(g: GroupReport): string {
  const members = `${g.members} member${g.members === 1 ? '' : 's'}`;
  return `${g.group}  ${g.topic}  ${g.state}, ${members}  ${g.status}  lag ${g.lag}  ${secs(g.lagSeconds)} behind  eta ${eta(g.etaSeconds)}  (${g.reason})`;
}

function partitionTable(g: GroupReport, replicas: Map<string, ReplicaView>): string {
  if (g.partitions.length === 0) return '';
  const columns = [
    'partition',
    'committed',
    'end',
    'lag',
    'lag_s',
    'rate/s',
    'eta',
    'leader',
    'isr',
    'status',
    'owner',
  ];
  const rows = g.partitions.map((p) => [
    String(p.partition),
    p.committed === null ? '-' : p.committed.toString(),
    p.end.toString(),
    p.lag.toString(),
    secs(p.lagSeconds),
    p.consumeRate.toFixed(2),
    eta(p.etaSeconds),
    leaderOf(replicas.get(`${g.topic}\u0000${p.partition}`)),
    isrOf(replicas.get(`${g.topic}\u0000${p.partition}`)),
    p.status,
    p.owner ?? '-',
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    `  ${vals.map((v, i) => (i === 0 || i >= vals.length - 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(columns), ...rows.map(line)].join('\n');
}

const round = (n: number) => Math.round(n * 1000) / 1000;

const leaderOf = (r: ReplicaView | undefined) =>
  r === undefined ? '-' : r.leader < 0 ? 'none' : String(r.leader);

/** "1,2,3", or "1,3 of 1,2,3" when a replica is out of sync. */
const isrOf = (r: ReplicaView | undefined) =>
  r === undefined
    ? '-'
    : r.isr.length < r.replicas.length
      ? `${r.isr.join(',') || 'none'} of ${r.replicas.join(',')}`
      : r.isr.join(',');

function secs(s: number): string {
  return s < 10 ? `${s.toFixed(1)}s` : duration(s);
}

function eta(s: number | null): string {
  if (s === null) return 'never';
  return s === 0 ? '0s' : duration(s);
}

function duration(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
