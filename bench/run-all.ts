/**
 * `npm run bench`: every benchmark, one after the other so they do not compete for the two cores,
 * at the issues' sizes (bench-catalog.ts), then docs/BENCHMARKS.md rendered from their figures.
 *
 *   npm run bench                               all, full size; writes docs/BENCHMARKS.md
 *   npm run bench -- upload-ingestion end-to-end  only those; the report keeps the others' last figures
 *   npm run bench -- --quick                    all at small sizes, to check the machinery; writes
 *                                               STS_DATA_DIR/bench/quick/BENCHMARKS.md, never the docs
 *   npm run bench -- --no-write                 run, but do not write the report
 *
 * Inputs: the local stack (npm run bench brings it up first).
 * Output: each benchmark's own lines; per benchmark its JSON kept under bench/results/ (full run,
 *   committed) or STS_DATA_DIR/bench/quick/, with when it ran, the load average before and after,
 *   and its exit code (bench-run-record.ts); the report; a final table of which ran and which failed.
 * Exit code: 1 if any benchmark failed (a failure is a lost or doubled effect or a crash, not a
 *   slow run); 2 for an unknown benchmark name. A failed benchmark does not stop the others, and
 *   the report is written either way, with that section marked FAILED.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { BENCH_NAMES, BENCHES, type BenchMode } from './bench-catalog';
import {
  benchOutput,
  modeDir,
  readRunRecord,
  writeRunRecord,
  type BenchAttempt,
  type RunRecord,
} from './bench-run-record';
import { writeReport } from './benchmarks-report';
import { readMachineInfo } from './machine-info';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const mode: BenchMode = argv.includes('--quick') ? 'quick' : 'full';
  const write = !argv.includes('--no-write');
  const flags = argv.filter((a) => a.startsWith('-'));
  const badFlag = flags.find((f) => f !== '--quick' && f !== '--no-write');
  const wanted = argv.filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !BENCH_NAMES.includes(w));
  if (badFlag || unknown.length > 0) {
    process.stderr.write(
      `${badFlag ? `unknown option ${badFlag} (--quick, --no-write)` : `unknown benchmark(s): ${unknown.join(', ')}`}; benchmarks: ${BENCH_NAMES.join(', ')}\n`,
    );
    return 2;
  }

  const config = loadConfig();
  const dir = modeDir(config.dataDir, mode);
  // Entries of benchmarks not rerun this time stay, so one benchmark can be redone on its own.
  const record: RunRecord = {
    ...(readRunRecord(dir) ?? { benches: {} }),
    mode,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    startedAt: new Date().toISOString(),
    finishedAt: undefined,
    machine: await readMachineInfo(config),
  };
  writeRunRecord(dir, record);
  process.stdout.write(
    `${mode} run; machine: ${record.machine!.cpuModel} × ${record.machine!.cpus}, load ${record.machine!.loadAvg.join(' ')}\n`,
  );

  const results: Array<{ name: string; attempt: BenchAttempt }> = [];
  for (const bench of BENCHES.filter((b) => wanted.length === 0 || wanted.includes(b.name))) {
    const args = bench.args[mode];
    process.stdout.write(`\n=== ${bench.name} ${args.join(' ')} ===\n`);
    const attempt = runOne(config.dataDir, bench.name, args, dir);
    results.push({ name: bench.name, attempt });
    const previous = record.benches[bench.name];
    const ok = attempt.exitCode === 0 && attempt.wroteJson;
    record.benches[bench.name] = {
      last: attempt,
      lastSuccess: ok ? attempt : previous?.lastSuccess,
    };
    // After every benchmark: a run stopped halfway still renders what it measured.
    writeRunRecord(dir, record);
  }
  record.finishedAt = new Date().toISOString();
  writeRunRecord(dir, record);

  const { file } = writeReport(config.dataDir, mode, write);
  const line = (r: (typeof results)[number]) => {
    const a = r.attempt;
    const state =
      a.exitCode === 0 && a.wroteJson
        ? 'ok    '
        : `FAILED (${a.exitCode === null ? a.signal : a.exitCode === 0 ? 'no JSON' : `exit ${a.exitCode}`})`;
    return `${state} ${r.name} (${a.seconds} s)`;
  };
  process.stdout.write(`\n${results.map(line).join('\n')}\n`);
  process.stdout.write(
    write ? `report: ${path.relative(process.cwd(), file)}\n` : 'report not written (--no-write)\n',
  );
  return results.every((r) => r.attempt.exitCode === 0 && r.attempt.wroteJson) ? 0 : 1;
}

/**
 * Runs one benchmark in its own process and keeps its JSON only if it wrote it during this run:
 * a benchmark that crashes before writing leaves the previous file behind, and that must not be
 * reported as this run's figure.
 */
function runOne(dataDir: string, name: string, args: string[], dir: string): BenchAttempt {
  const started = Date.now();
  const loadAvgStart = loadAvg();
  const res = spawnSync(
    process.execPath,
    ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'bench', `${name}.ts`), ...args],
    {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    },
  );
  const out = benchOutput(dataDir, name);
  const fresh = fs.existsSync(out) && fs.statSync(out).mtimeMs >= started;
  const ok = res.status === 0 && fresh;
  if (ok) {
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(out, path.join(dir, `${name}.json`));
  }
  return {
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    exitCode: res.status,
    ...(res.signal ? { signal: res.signal } : {}),
    loadAvgStart,
    loadAvgEnd: loadAvg(),
    args,
    wroteJson: fresh,
  };
}

const loadAvg = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
