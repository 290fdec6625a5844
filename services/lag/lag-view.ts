import type { GroupReport } from './lag-evaluator';
import type { LagReport } from './lag-monitor';

/**
 * How a lag report is shown: the JSON of `sts lag --json` and GET /lag (times as ISO 8601,
 * offsets and lag as decimal strings once serialised, rates per second, ETA in seconds or null
 * for "never"), and the operator's table.
 */
export function lagJson(report: LagReport) {
  return {
    at: new Date(report.at).toISOString(),
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
      })),
    })),
  };
}

/** One block per group and topic: a summary line, then its partitions. */
export function lagTable(report: LagReport): string {
  const blocks = report.groups.map((g) =>
    [groupLine(g), partitionTable(g)].filter(Boolean).join('\n'),
  );
  return `lag at ${new Date(report.at).toISOString()}\n\n${blocks.join('\n\n')}\n`;
}

function groupLine(g: GroupReport): string {
  const members = `${g.members} member${g.members === 1 ? '' : 's'}`;
  return `${g.group}  ${g.topic}  ${g.state}, ${members}  ${g.status}  lag ${g.lag}  ${secs(g.lagSeconds)} behind  eta ${eta(g.etaSeconds)}  (${g.reason})`;
}

function partitionTable(g: GroupReport): string {
  if (g.partitions.length === 0) return '';
  const columns = ['partition', 'committed', 'end', 'lag', 'lag_s', 'rate/s', 'eta', 'status'];
  const rows = g.partitions.map((p) => [
    String(p.partition),
    p.committed === null ? '-' : p.committed.toString(),
    p.end.toString(),
    p.lag.toString(),
    secs(p.lagSeconds),
    p.consumeRate.toFixed(2),
    eta(p.etaSeconds),
    p.status,
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    `  ${vals.map((v, i) => (i === 0 || i === vals.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(columns), ...rows.map(line)].join('\n');
}

const round = (n: number) => Math.round(n * 1000) / 1000;

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
