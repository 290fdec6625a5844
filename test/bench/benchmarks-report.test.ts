import { renderBenchmarks } from '../../bench/benchmarks-report';
import type { RunRecord } from '../../bench/bench-run-record';
import type { CompareResult } from '../../bench/compare-model';

/**
 * The report is a pure function of the kept JSON: these tests feed it sample figures and read the
 * Markdown back, so no stack is needed.
 */

const attempt = (exitCode: number | null, args: string[] = ['1000000']) => ({
  startedAt: '2026-11-22T05:00:00.000Z',
  seconds: 60,
  exitCode,
  loadAvgStart: [1.5, 1.25, 1],
  loadAvgEnd: [2, 1.5, 1.1],
  args,
  wroteJson: exitCode === 0,
});

const machine = {
  readAt: '2026-11-22T04:59:00.000Z',
  cpuModel: 'AMD EPYC',
  cpus: 2,
  ramGiB: 23.5,
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: 'Linux 6.1 x64',
  node: 'v20.20.2',
  java: 'openjdk version "17.0.15"',
  kafka: '3.9.1',
  mariadb: '10.11.19-MariaDB',
  redis: '7.0.15',
  loadAvg: [1.5, 1.25, 1],
};

const results = {
  'runtime-throughput': {
    batched: { records: 200_000, recordsPerSecond: 40_000, maxRecordsPerTransaction: 2000 },
    naive: { records: 5000, recordsPerSecond: 1000 },
  },
  'upload-ingestion': {
    rows: 1_000_000,
    fileMb: 80.4,
    loadData: { seconds: 10, rowsPerSecond: 100_000 },
    pipeline: { seconds: 91, rowsPerSecond: 10_989, publishedAfterSeconds: 30 },
    peakRssMb: { intakeProcess: 189, ingestionProcess: 310 },
    exact: true,
  },
  // A shape another helper may have changed: the reference field is gone.
  'settlement-aggregation': {
    events: 1_000_000,
    aggregation: { eventsPerSecond: 30_000 },
    naive: { events: 5000, eventsPerSecond: 400 },
  },
  'settlement-close': {
    sellers: 50_000,
    items: 500_000,
    setupSeconds: 10,
    totalSeconds: 25,
    closeSeconds: 17,
    relaySeconds: 8,
    phases: {},
    targetSeconds: 120,
    exact: true,
  },
};

function run(benches: RunRecord['benches']): RunRecord {
  return {
    mode: 'full',
    command: 'npm run bench',
    startedAt: '2026-11-22T04:59:00.000Z',
    finishedAt: '2026-11-22T06:00:00.000Z',
    machine,
    benches,
  };
}

function section(md: string, title: string): string {
  const start = md.indexOf(`## ${title}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end === -1 ? undefined : end);
}

describe('renderBenchmarks', () => {
  const md = renderBenchmarks({
    mode: 'full',
    run: run({
      'runtime-throughput': {
        last: attempt(0, ['200000', '5000']),
        lastSuccess: attempt(0, ['200000', '5000']),
      },
      'upload-ingestion': { last: attempt(0), lastSuccess: attempt(0) },
      'settlement-aggregation': {
        last: attempt(0, ['1000000', '5000']),
        lastSuccess: attempt(0, ['1000000', '5000']),
      },
      'settlement-close': {
        last: attempt(0, ['50000', '10']),
        lastSuccess: attempt(0, ['50000', '10']),
      },
      'payment-notify': { last: attempt(1, ['100000']) },
    }),
    results,
  });

  it('puts each figure beside its reference with the ratio', () => {
    const runtime = section(md, 'Processor runtime');
    expect(runtime).toMatch(
      /\| 40,000 \| naive: one transaction and one offset commit per message \| 1,000 \| \*\*40×\*\* \|/,
    );
    const upload = section(md, 'Upload ingestion');
    expect(upload).toMatch(
      /\| 91\.0 \| LOAD DATA LOCAL INFILE into a copy of billing_item \| 10\.0 \| \*\*9\.1×\*\* \|/,
    );
    expect(upload).toMatch(/\| 10,989 \| LOAD DATA LOCAL INFILE \| 100,000 \| \*\*0\.11×\*\* \|/);
  });

  it('says "not met" plainly for each target missed, and "met" for the others', () => {
    const runtime = section(md, 'Processor runtime');
    expect(runtime).toContain('- ≥ 30,000 records/s (issue 3): met — this run: 40,000 records/s');
    expect(runtime).toContain('- ≥ 10× the naive baseline (issue 3): met — this run: 40.0×');
    const upload = section(md, 'Upload ingestion');
    expect(upload).toContain("- ≤ 1.5× LOAD DATA's time (issue 4): **not met** — this run: 9.10×");
    expect(upload).toContain('- ≥ 30,000 rows/s (issue 4): **not met** — this run: 10,989 rows/s');
    expect(upload).toContain(
      '- ≤ 300 MB peak RSS, intake process (issue 4): met — this run: 189 MB',
    );
    expect(upload).toContain(
      '- ≤ 300 MB peak RSS, ingestion process (issue 4): **not met** — this run: 310 MB',
    );
    expect(section(md, 'Summary')).toMatch(
      /\| upload-ingestion \| ok \| .* \| 1 met, \*\*3 not met\*\* \|/,
    );
  });

  it('renders a missing field as n/a instead of failing', () => {
    const aggregation = section(md, 'Settlement aggregation');
    expect(aggregation).toMatch(
      /\| 30,000 \| Kafka ConsumerPerformance, same topic \(consume only\) \| n\/a \| \*\*n\/a\*\* \|/,
    );
    expect(aggregation).toMatch(
      /\| 30,000 \| naive: one event per transaction \| 400 \| \*\*75×\*\* \|/,
    );
    expect(aggregation).toContain('- ≥ 25,000 events/s (issue 5): met');
  });

  it('does not judge a size-bound target at another size', () => {
    const close = section(md, 'Cycle close');
    expect(close).toContain('not assessed (the target is a time for 1,000,000 sellers)');
    expect(close).toContain('Measured at 50,000 sellers');
    expect(close).toMatch(/\| 25\.0 \| setup: .* \| 10\.0 \| \*\*2\.5×\*\* \|/);
  });

  it('marks a failed benchmark FAILED with its exit code, keeping the hand-measured figures', () => {
    const payment = section(md, 'Payment notify');
    expect(payment).toContain('**FAILED** (exit code 1) in the run of 2026-11-22 05:00 UTC');
    expect(payment).toContain('`npx tsx bench/payment-notify.ts 100000`');
    expect(payment).toContain('Hand-measured figures');
    expect(section(md, 'Summary')).toContain('| payment-notify | **FAILED (exit code 1)** |');
  });

  it('states the date, load and command of each run, and the machine', () => {
    const runtime = section(md, 'Processor runtime');
    expect(runtime).toContain(
      '`npx tsx bench/runtime-throughput.ts 200000 5000` — run 2026-11-22 05:00 UTC, load 1.50 / 1.25 / 1.00 at start, 2.00 / 1.50 / 1.10 at end',
    );
    const m = section(md, 'Machine');
    expect(m).toContain('| CPU | AMD EPYC × 2 |');
    expect(m).toContain('| load average at start (1 / 5 / 15 min) | 1.50 / 1.25 / 1.00 |');
  });

  it("renders a comparison against an earlier revision with each side's median and the ratio", () => {
    const compare: CompareResult = {
      benches: [
        {
          name: 'settlement-aggregation',
          command: 'npx tsx bench/settlement-aggregation.ts 1000000 5000',
          startedAt: '2026-12-06T10:00:00.000Z',
          finishedAt: '2026-12-06T10:30:00.000Z',
          loadAvgStart: [1, 1, 1],
          loadAvgEnd: [2, 2, 2],
          base: { rev: 'abc1234', sha: 'abc1234def5678900000' },
          head: { sha: 'fedcba9876543210aaaa', dirty: false },
          runs: [
            {
              side: 'base',
              pair: 1,
              seconds: 100,
              exitCode: 0,
              figures: { 'aggregation.eventsPerSecond': 30_000 },
            },
            {
              side: 'head',
              pair: 1,
              seconds: 101,
              exitCode: 0,
              figures: { 'aggregation.eventsPerSecond': 29_000 },
            },
          ],
          measures: [
            {
              label: 'aggregation events/s',
              path: 'aggregation.eventsPerSecond',
              better: 'higher',
              digits: 0,
              base: 30_000,
              head: 29_000,
              ratio: 29_000 / 30_000,
            },
          ],
        },
      ],
    };
    const withCompare = renderBenchmarks({ mode: 'full', results, compare });
    const s = section(withCompare, 'Against an earlier revision');
    expect(s).toContain(
      '`npm run bench:compare -- --base abc1234 settlement-aggregation`: base abc1234def56, head fedcba987654; run 2026-12-06 10:00 UTC',
    );
    expect(s).toContain('| aggregation events/s | 30,000 | 29,000 | **0.967** | higher |');
    expect(s).toContain('| 2 | head | 0 | 101 | 29,000 |');
    expect(md).not.toContain('## Against an earlier revision');
  });

  it('heads a quick run as not the issue sizes and leaves the hand-measured figures out', () => {
    const quick = renderBenchmarks({
      mode: 'quick',
      results: { 'runtime-throughput': results['runtime-throughput'] },
    });
    expect(quick.split('\n')[0]).toBe('# Benchmarks — QUICK RUN, not the issue sizes');
    expect(quick).not.toContain('Hand-measured');
    expect(quick).toContain('Not measured yet: `npm run bench -- --quick upload-ingestion`');
  });
});
