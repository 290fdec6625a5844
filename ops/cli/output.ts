import { StsError } from '../../runtime/errors';

/** Prints an error as one line of cause and one of fix, and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const e = err instanceof StsError ? err : undefined;
  const code = e?.code ?? 'STS_UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, code, error: message, fix: e?.fix })}\n`);
  } else {
    process.stderr.write(`error [${code}]: ${message}\n`);
    if (e?.fix) process.stderr.write(`fix: ${e.fix}\n`);
    if (!e && err instanceof Error && process.env.STS_DEBUG) process.stderr.write(`${err.stack}\n`);
  }
  return e?.code === 'STS_CONFIG_INVALID' ? 2 : 1;
}

/** JSON with bigint as decimal strings (the wire rule for ids and amounts everywhere). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}
