import type { CompareResult } from './compare-model';
import { fmt, load, NA, table, when } from './report-format';

/**
 * The "against an earlier revision" section of docs/BENCHMARKS.md, from what
 * `npm run bench:compare` keeps: per benchmark, the median of each side and head / base, then
 * every run. Nothing is computed here; a missing figure shows as "n/a".
 */
export function renderCompare(c: CompareResult | undefined): string | undefined {
  if (!c || !Array.isArray(c.benches) || c.benches.length === 0) return undefined;
  const parts = [
    '## Against an earlier revision',
    "The same benchmarks at the issues' sizes on an earlier revision (base) and on this tree (head), run " +
      'alternately in one session (base then head, the next pair head then base), so both see the same ' +
      'machine and the same load. Each run must exit 0, which a benchmark only does when its effects were ' +
      'exact. Below 1.00 is less of the measure on head.',
  ];
  for (const b of c.benches) {
    const head = `${b.head.sha.slice(0, 12)}${b.head.dirty ? ' with uncommitted changes' : ''}`;
    parts.push(
      `### ${b.name}`,
      `\`npm run bench:compare -- --base ${b.base.rev} ${b.name}\`: base ${b.base.sha.slice(0, 12)}, head ${head}; ` +
        `run ${when(b.startedAt)} to ${when(b.finishedAt)}, load ${load(b.loadAvgStart)} at start, ` +
        `${load(b.loadAvgEnd)} at end (1 / 5 / 15 min). Each run: \`${b.command}\`.`,
      table(
        ['measure', 'base (median)', 'head (median)', 'head / base', 'better'],
        ['l', 'r', 'r', 'r', 'l'],
        b.measures.map((m) => [
          m.label,
          fmt(m.base, m.digits),
          fmt(m.head, m.digits),
          m.ratio === undefined ? NA : `**${fmt(m.ratio, 3)}**`,
          m.better,
        ]),
      ),
      table(
        ['run', 'side', 'exit', 'wall s', ...b.measures.map((m) => m.label)],
        ['r', 'l', 'r', 'r', ...b.measures.map(() => 'r' as const)],
        b.runs.map((r, i) => [
          String(i + 1),
          r.side,
          r.exitCode === null ? 'signal' : String(r.exitCode),
          fmt(r.seconds),
          ...b.measures.map((m) => fmt(r.figures[m.figure], m.digits)),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
}
