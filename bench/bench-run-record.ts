import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../runtime/config';
import type { BenchMode } from './bench-catalog';
import type { MachineInfo } from './machine-info';

/**
 * What `npm run bench` keeps about its runs, per mode: a full run's in bench/results/, which is
 * committed with docs/BENCHMARKS.md so any clone re-renders the same report (and one benchmark
 * rerun keeps the others' figures); a quick run's under STS_DATA_DIR/bench/quick/:
 *   - run.json: the last run (command, machine, start) and, per benchmark, its last attempt and
 *     its last successful one (when, load average before and after, exit code, arguments);
 *   - <name>.json: the figures of that benchmark's last successful attempt, copied from the
 *     STS_DATA_DIR/bench/<name>.json the benchmark writes.
 * The report reads only these. A benchmark run by hand (`npx tsx bench/x.ts 5000`) writes
 * STS_DATA_DIR/bench/x.json and never reaches the report, so a small trial cannot pass for a
 * full-size figure; neither can a quick run, which has its own folder.
 */

export interface BenchAttempt {
  startedAt: string;
  seconds: number;
  /** null when a signal ended it. */
  exitCode: number | null;
  signal?: string;
  /** os.loadavg() just before the benchmark started and just after it ended. */
  loadAvgStart: number[];
  loadAvgEnd: number[];
  args: string[];
  /** Whether the benchmark wrote fresh JSON (a success without it counts as a failure). */
  wroteJson: boolean;
}

export interface BenchEntry {
  last: BenchAttempt;
  lastSuccess?: BenchAttempt;
}

export interface RunRecord {
  mode: BenchMode;
  /** The command line of the last run, as typed. */
  command: string;
  startedAt: string;
  finishedAt?: string;
  machine?: MachineInfo;
  benches: Record<string, BenchEntry>;
}

export function modeDir(dataDir: string, mode: BenchMode): string {
  return mode === 'full' ? path.join(PROJECT_ROOT, 'bench', 'results') : path.join(dataDir, 'bench', mode);
}

/** How the report names where its figures came from. */
export function modeDirLabel(mode: BenchMode): string {
  return mode === 'full' ? 'bench/results' : `STS_DATA_DIR/bench/${mode}`;
}

/** The JSON a benchmark writes itself, every time it runs. */
export function benchOutput(dataDir: string, name: string): string {
  return path.join(dataDir, 'bench', `${name}.json`);
}

export function readRunRecord(dir: string): RunRecord | undefined {
  return readJson(path.join(dir, 'run.json')) as RunRecord | undefined;
}

export function writeRunRecord(dir: string, record: RunRecord): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/** Each benchmark's kept figures; a missing or unreadable file is simply absent. */
export function readResults(dir: string, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const json = readJson(path.join(dir, `${name}.json`));
    if (json !== undefined) out[name] = json;
  }
  return out;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
