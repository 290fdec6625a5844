/**
 * Reading benchmark JSON defensively and writing its numbers into Markdown. The benchmarks'
 * output shapes change as they are worked on, so a field that is missing or not a number renders
 * as "n/a" instead of failing the whole report.
 */

export const NA = 'n/a';

/** The value at a dotted path ("pipeline.rowsPerSecond"), or undefined. */
export function field(json: unknown, dotted: string): unknown {
  let at: unknown = json;
  for (const key of dotted.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** A finite number at a dotted path; numeric strings count (bigints travel as strings). */
export function num(json: unknown, dotted: string): number | undefined {
  const v = field(json, dotted);
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function str(json: unknown, dotted: string): string | undefined {
  const v = field(json, dotted);
  return typeof v === 'string' ? v : undefined;
}

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

export function ratioValue(
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
