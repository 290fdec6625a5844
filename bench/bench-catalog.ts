/**
 * Every benchmark `npm run bench` runs, in the order it runs them, with the arguments of each mode.
 *
 * "full" is the issues' sizes (1M upload rows, 1M order events, 1M sellers × 10 items for the
 * close, 100k payouts) and is what docs/BENCHMARKS.md reports. "quick" only checks the machinery
 * in a few minutes: its figures are dominated by start-up costs and say nothing about the targets,
 * which is why a quick run writes its report elsewhere (see benchmarks-report.ts).
 *
 * The arguments are spelled out even where they equal a benchmark's defaults, so that the
 * command printed beside each figure is exactly the one that produced it.
 */
export type BenchMode = 'full' | 'quick';

export interface BenchSpec {
  name: string;
  args: Record<BenchMode, string[]>;
}

export const BENCHES: readonly BenchSpec[] = [
  { name: 'runtime-throughput', args: { full: ['200000', '5000'], quick: ['20000', '1000'] } },
  { name: 'gateway-simulator', args: { full: ['10000', '64'], quick: ['2000', '64'] } },
  // At the issues' sizes the database runs on a private MariaDB with a 4G buffer pool (its redo log
  // a quarter of that, bench/bench-mysql.ts): 10M items or a 1M-row file are gigabytes, and the
  // shared server's 128 MB pool would measure the disk instead of the code. The references (LOAD
  // DATA, the naive baseline) run on the same server, and the report names it.
  {
    name: 'upload-ingestion',
    // Five rounds, the median reported: single rounds of the same code ranged from 1.3× to 1.9×
    // LOAD DATA on a shared machine, and with three one busy moment moved the median by 0.2.
    args: { full: ['1000000', '--private-mysql', '4G', '--rounds', '5'], quick: ['20000'] },
  },
  {
    name: 'settlement-aggregation',
    args: { full: ['1000000', '5000', '--private-mysql', '4G'], quick: ['20000', '1000'] },
  },
  {
    name: 'settlement-close',
    args: { full: ['1000000', '10', '--private-mysql', '4G'], quick: ['5000', '10'] },
  },
  { name: 'payment-notify', args: { full: ['100000'], quick: ['2000'] } },
  { name: 'order-produce', args: { full: ['715000', '1000'], quick: ['10000', '1000'] } },
  {
    name: 'end-to-end',
    args: { full: ['357000', '100000', '5000'], quick: ['3000', '3000', '300'] },
  },
];

export const BENCH_NAMES = BENCHES.map((b) => b.name);

/** The command that reruns one benchmark alone with the given arguments. */
export function benchCommand(name: string, args: readonly string[]): string {
  return ['npx tsx', `bench/${name}.ts`, ...args].join(' ');
}
