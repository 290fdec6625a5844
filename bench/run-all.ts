/**
 * `npm run bench`: every benchmark, one after the other so they do not compete for the two cores,
 * each at its default size. Inputs: the local stack. Output: each benchmark's own lines, and its
 * JSON under STS_DATA_DIR/bench/; a final table of which ran and which failed.
 * Exit code: 1 if any benchmark failed (a failure is a lost or doubled effect, not a slow run).
 *
 * `npm run bench -- upload-ingestion payment-notify` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../runtime/config';

const BENCHES = ['runtime-throughput', 'gateway-simulator', 'upload-ingestion', 'settlement-aggregation', 'settlement-close', 'payment-notify'];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !BENCHES.includes(w));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHES.join(', ')}\n`);
  process.exit(2);
}
const results: Array<{ name: string; ok: boolean; seconds: number }> = [];
for (const name of wanted.length > 0 ? wanted : BENCHES) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const started = Date.now();
  const res = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'bench', `${name}.ts`)], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  results.push({ name, ok: res.status === 0, seconds: Math.round((Date.now() - started) / 1000) });
}
process.stdout.write(`\n${results.map((r) => `${r.ok ? 'ok    ' : 'FAILED'} ${r.name} (${r.seconds} s)`).join('\n')}\nfigures: .sts/bench/*.json; docs/BENCHMARKS.md explains them\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
