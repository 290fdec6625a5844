/**
 * `npm run bench:compare -- --base REV [--pairs N] [name ...]`: the same benchmarks, at the issues'
 * sizes, on an earlier revision and on this working tree, run alternately in one session so both
 * see the same machine and the same load; the answer is the ratio of this tree to the base, which
 * is what "did this change make it slower?" needs on a noisy two-core box.
 *
 *   npm run bench:compare -- --base 9834fb4                     upload, aggregation and close, 1 pair
 *   npm run bench:compare -- --base 9834fb4 --pairs 2 upload-ingestion
 *
 * How: the base is checked out once as a git worktree under STS_DATA_DIR/bench/base-<sha>/ with its
 * own node_modules and its own STS_DATA_DIR, so its private MariaDB, topics and output never touch
 * this tree's. Each pair runs base then head, the next pair head then base (a drift in the machine's
 * load over the session then falls on both sides alike). Every run is the benchmark's own command
 * (bench-catalog.ts, full size) and must exit 0, which each benchmark only does when its effects
 * were exact.
 *
 * Output: each run's figures, then per measure the median of each side and head / base;
 * bench/results/compare-revisions.json (the benchmarks compared this time replace their entries;
 * the others stay), which docs/BENCHMARKS.md renders (report-compare.ts).
 * Exit code: 1 if any run failed, 2 for bad arguments.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { BENCHES, benchCommand } from './bench-catalog';
import { benchOutput, modeDir } from './bench-run-record';
import {
  COMPARE_MEASURES,
  measuredIn,
  type CompareBench,
  type CompareResult,
  type CompareRun,
} from './compare-model';

const DEFAULT_BENCHES = ['upload-ingestion', 'settlement-aggregation', 'settlement-close'];

interface Args {
  base: string;
  pairs: number;
  names: string[];
}

function parseArgs(argv: string[]): Args | string {
  let base: string | undefined;
  let pairs = 1;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--base') base = argv[++i];
    else if (a === '--pairs') pairs = Number(argv[++i]);
    else if (a.startsWith('-')) return `unknown option ${a} (--base REV, --pairs N)`;
    else names.push(a);
  }
  if (!base) return '--base REV is required (a commit, tag or branch to compare against)';
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 10) return '--pairs must be 1 to 10';
  const chosen = names.length > 0 ? names : DEFAULT_BENCHES;
  const unknown = chosen.filter((n) => !(n in COMPARE_MEASURES));
  if (unknown.length > 0)
    return `no comparison is defined for ${unknown.join(', ')}; choose from ${Object.keys(COMPARE_MEASURES).join(', ')}`;
  return { base, pairs, names: chosen };
}

function git(args: string[], cwd = PROJECT_ROOT): string {
  const res = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`git ${args.join(' ')}: ${res.stderr.trim()}`);
  return res.stdout.trim();
}

/** The base as a worktree with its dependencies installed; reused by later comparisons. */
function prepareBase(dataDir: string, rev: string): { dir: string; sha: string } {
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  const dir = path.join(dataDir, 'bench', `base-${sha.slice(0, 12)}`);
  if (!fs.existsSync(path.join(dir, '.git'))) {
    process.stdout.write(`checking out ${sha.slice(0, 12)} into ${dir}\n`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    git(['worktree', 'add', '--detach', '--force', dir, sha]);
  }
  if (!fs.existsSync(path.join(dir, 'node_modules', '.package-lock.json'))) {
    process.stdout.write("installing the base revision's dependencies…\n");
    const res = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (res.status !== 0) throw new Error(`npm install in ${dir} failed`);
  }
  return { dir, sha };
}

/** One benchmark run in `root` (this tree or the base worktree), its JSON when it succeeded. */
function runIn(
  root: string,
  name: string,
  args: string[],
): { seconds: number; json?: unknown; exitCode: number | null } {
  // Each tree keeps its own data directory, so a private MariaDB or a topic never crosses over.
  const dataDir = path.join(root, '.sts');
  const env = { ...process.env, STS_DATA_DIR: dataDir };
  const out = benchOutput(dataDir, name);
  const started = Date.now();
  const res = spawnSync(
    process.execPath,
    ['-r', 'tsx/cjs', path.join(root, 'bench', `${name}.ts`), ...args],
    {
      cwd: root,
      env,
      stdio: 'inherit',
    },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  const fresh = fs.existsSync(out) && fs.statSync(out).mtimeMs >= started;
  if (res.status !== 0 || !fresh) return { seconds, exitCode: res.status };
  return { seconds, exitCode: 0, json: JSON.parse(fs.readFileSync(out, 'utf8')) as unknown };
}

const loadAvg = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** The kept comparisons, or none; an unreadable file starts afresh. */
function readKept(file: string): CompareResult {
  try {
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as CompareResult;
    return Array.isArray(kept.benches) ? kept : { benches: [] };
  } catch {
    return { benches: [] };
  }
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    return 2;
  }
  const config = loadConfig();
  const base = prepareBase(config.dataDir, parsed.base);
  const headSha = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  const file = path.join(modeDir(config.dataDir, 'full'), 'compare-revisions.json');
  const result: CompareResult = readKept(file);
  let failed = false;
  for (const name of parsed.names) {
    const args = BENCHES.find((b) => b.name === name)!.args.full;
    const startedAt = new Date().toISOString();
    const loadAvgStart = loadAvg();
    const runs: CompareRun[] = [];
    for (let pair = 0; pair < parsed.pairs; pair++) {
      const order: Array<'base' | 'head'> = pair % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
      for (const side of order) {
        process.stdout.write(`\n=== ${name}, pair ${pair + 1} of ${parsed.pairs}, ${side} ===\n`);
        const r = runIn(side === 'base' ? base.dir : PROJECT_ROOT, name, args);
        const figures: Record<string, number> = {};
        for (const m of COMPARE_MEASURES[name]!) {
          const v = measuredIn(r.json, m);
          if (v !== undefined) figures[m.figure] = v;
        }
        if (r.exitCode !== 0) failed = true;
        runs.push({ side, pair: pair + 1, seconds: r.seconds, exitCode: r.exitCode, figures });
      }
    }
    const measures = COMPARE_MEASURES[name]!.map((m) => {
      const side = (s: 'base' | 'head') =>
        median(
          runs
            .filter((r) => r.side === s && m.figure in r.figures)
            .map((r) => r.figures[m.figure]!),
        );
      const b = side('base');
      const h = side('head');
      return {
        ...m,
        base: b,
        head: h,
        ratio: b !== undefined && h !== undefined && b !== 0 ? h / b : undefined,
      };
    });
    const entry: CompareBench = {
      name,
      command: benchCommand(name, args),
      startedAt,
      finishedAt: new Date().toISOString(),
      loadAvgStart,
      loadAvgEnd: loadAvg(),
      base: { rev: parsed.base, sha: base.sha },
      head: { sha: headSha, dirty },
      runs,
      measures,
    };
    for (const m of measures) {
      process.stdout.write(
        `${name}: ${m.label}: base ${m.base ?? 'n/a'}, head ${m.head ?? 'n/a'}, head/base ${m.ratio?.toFixed(3) ?? 'n/a'} (${m.better} is better)\n`,
      );
    }
    // After each benchmark, so a session stopped halfway keeps what it measured; the entries of
    // benchmarks not compared this time stay.
    result.benches = [...result.benches.filter((b) => b.name !== name), entry];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
