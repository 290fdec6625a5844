import { renderBenchmarks } from '../../bench/benchmarks-report';
import {
  BENCH_RESULT_FORMAT,
  parseBenchResult,
  type BenchResult,
  type BenchResultBody,
} from '../../bench/bench-result';
import type { RunRecord } from '../../bench/bench-run-record';
import { COMPARE_MEASURES, measuredIn, type CompareResult } from '../../bench/compare-model';
import { produceResult } from '../../bench/order-produce';
import { runtimeResult } from '../../bench/runtime-throughput';
import { aggregationResult } from '../../bench/settlement-aggregation';
import { closeResult } from '../../bench/settlement-close';
import { uploadResult } from '../../bench/upload-ingestion';

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

const server = {
  private: false,
  bufferPool: '128M',
  version: '10.11.19-MariaDB',
  redoLog: '96M',
  flushLogAtTrxCommit: 1,
};

/** What writeBenchResult would keep: the benchmark's own result, stamped. */
const kept = (body: BenchResultBody): BenchResult => ({
  format: BENCH_RESULT_FORMAT,
  at: '2026-11-22T05:00:00.000Z',
  ...body,
});

// Each result is built by its benchmark's own function from a record of sample figures.
const results: Record<string, unknown> = {
  'runtime-throughput': kept(
    runtimeResult({
      machine: { cpus: 2, node: 'v20.20.2' },
      batched: { records: 200_000, recordsPerSecond: 40_000, maxRecordsPerTransaction: 2000 },
      naive: { records: 5000, recordsPerSecond: 1000, maxRecordsPerTransaction: 1 },
    }),
  ),
  'upload-ingestion': kept(
    uploadResult({
      rows: 1_000_000,
      fileMb: 80.4,
      loadData: { seconds: 10, rowsPerSecond: 100_000, mysqldCpuSeconds: null },
      pipeline: { seconds: 91, rowsPerSecond: 10_989, publishedAfterSeconds: 30 },
      ratioToLoadData: 9.1,
      cpuSeconds: { intakeProcess: 4, ingestionProcess: 9, mysqld: null, broker: null },
      rounds: [],
      peakRssMb: { intakeProcess: 189, ingestionProcess: 310 },
      ingestionHeapCapMb: 256,
      mysql: server,
      exact: true,
    }),
  ),
  // ConsumerPerformance did not measure (a non-finite figure is kept as null).
  'settlement-aggregation': kept(
    aggregationResult({
      events: 1_000_000,
      consumerPerformance: { recordsPerSecond: Number.NaN },
      aggregation: { eventsPerSecond: 30_000 },
      naive: { events: 5000, eventsPerSecond: 400 },
      mysql: server,
    }),
  ),
  'settlement-close': kept(
    closeResult({
      sellers: 50_000,
      items: 500_000,
      setupSeconds: 10,
      totalSeconds: 25,
      closeSeconds: 17,
      relaySeconds: 8,
      phases: {},
      payouts: { PENDING: 50_000 },
      fileMb: 16.6,
      peakRssMb: 200,
      mysql: server,
      exact: true,
    }),
  ),
  'order-produce': kept(
    produceResult({
      orders: 10_000,
      events: 14_000,
      sellers: 1000,
      partitions: 12,
      recordBytes: { meanValue: 77, key: 18, sampled: 1000 },
      pipeline: {
        command: 'sts orders produce',
        eventsPerSecond: 35_000,
        seconds: 0.4,
        wallSeconds: 2,
        recordsOnTopic: 14_000,
      },
      producerPerformance: {
        records: 14_000,
        recordsPerSecond: 250_000,
        megabytesPerSecond: 19,
        avgLatencyMs: 10,
        maxLatencyMs: 50,
        recordSize: 77,
      },
      exact: true,
    }),
  ),
  // A file kept by a version of the benchmark before the typed result.
  'gateway-simulator': { requests: 10_000, concurrentPerSecond: 5035 },
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

  it('renders a figure the run could not measure as n/a instead of failing', () => {
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

  it("stands a figure beside another benchmark's figure when the result names it", () => {
    // The relay's 50,000 events in 8 s beside order-produce's ProducerPerformance.
    expect(section(md, 'Cycle close')).toMatch(
      /\| 6,250 \| ProducerPerformance \(order-produce benchmark\) \| 250,000 \| \*\*0\.03×\*\* \|/,
    );
  });

  it('says why a kept result of another shape cannot be read, and renders the rest', () => {
    const gateway = section(md, 'Gateway simulator');
    expect(gateway).toMatch(
      /Figures unreadable \(.*format.*\); rerun `npm run bench -- gateway-simulator`/,
    );
    expect(gateway).not.toContain('| measure |');
    expect(section(md, 'Processor runtime')).toContain('| measure |');
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
              figures: { eventsPerSecond: 30_000 },
            },
            {
              side: 'head',
              pair: 1,
              seconds: 101,
              exitCode: 0,
              figures: { eventsPerSecond: 29_000 },
            },
          ],
          measures: [
            {
              label: 'aggregation events/s',
              figure: 'eventsPerSecond',
              legacyPath: 'aggregation.eventsPerSecond',
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

describe('bench results', () => {
  it('refuses a result whose comparison or target names a figure it does not have', () => {
    const body = runtimeResult({
      machine: { cpus: 2, node: 'v20.20.2' },
      batched: { records: 10, recordsPerSecond: 10, maxRecordsPerTransaction: 2 },
      naive: { records: 10, recordsPerSecond: 1, maxRecordsPerTransaction: 1 },
    });
    const wrong = { ...body, targets: [{ ...body.targets[0]!, figure: 'recordsPerMinute' }] };
    expect(parseBenchResult(kept(wrong))).toMatch(/no figure named recordsPerMinute/);
    expect(typeof parseBenchResult(kept(body))).toBe('object');
  });

  it('reads a compared figure from a typed result and from the JSON of an earlier revision', () => {
    const [events] = COMPARE_MEASURES['settlement-aggregation']!;
    expect(measuredIn(results['settlement-aggregation'], events!)).toBe(30_000);
    expect(measuredIn({ aggregation: { eventsPerSecond: 31_148 } }, events!)).toBe(31_148);
    expect(measuredIn({ aggregation: {} }, events!)).toBeUndefined();
  });
});
