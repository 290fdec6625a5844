/**
 * Writing numbers into Markdown, for the benchmarks' results and the report: grouped digits,
 * ratios, times, load averages and tables. A number that is missing renders as "n/a".
 */

export const NA = 'n/a';

/** 1234567 → "1,234,567"; digits after the point as asked; undefined → "n/a". */
export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return NA;
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** figure / reference, as "142×", "9.1×" or "0.11×"; "n/a" when either is missing or zero. */
export function ratio(figure: number | undefined, reference: number | undefined): string {
  const r = ratioValue(figure, reference);
  if (r === undefined) return NA;
  return `${fmt(r, r >= 10 ? 0 : r >= 1 ? 1 : 2)}×`;
}

function ratioValue(
  figure: number | undefined,
  reference: number | undefined,
): number | undefined {
  if (figure === undefined || reference === undefined || reference === 0) return undefined;
  const r = figure / reference;
  return Number.isFinite(r) ? r : undefined;
}

/** "2026-11-22 05:10 UTC" from an ISO timestamp; "n/a" when absent or unreadable. */
export function when(iso: string | undefined): string {
  if (!iso) return NA;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? NA : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function load(avg: readonly number[] | undefined): string {
  return avg && avg.length === 3 ? avg.map((l) => fmt(l, 2)).join(' / ') : NA;
}

/** A Markdown table; cells are escaped for the pipe that would split them. */
export function table(head: string[], align: Array<'l' | 'r'>, rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${head.map(cell).join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}
