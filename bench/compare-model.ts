/**
 * What `npm run bench:compare` measures and keeps (bench/results/compare-revisions.json): per
 * benchmark the figures compared between an earlier revision and this tree, and the shape of the
 * kept result, shared by the runner (compare-revisions.ts) and the report (report-sections.ts).
 */

export interface CompareMeasure {
  label: string;
  /** Dotted path of the figure in the benchmark's own JSON. */
  path: string;
  better: 'lower' | 'higher';
  digits: number;
}

/** The figures that would show a slowdown: the headline, and where the CPU or memory goes. */
export const COMPARE_MEASURES: Readonly<Record<string, readonly CompareMeasure[]>> = {
  'upload-ingestion': [
    {
      label: 'pipeline seconds, 1M rows (median of its rounds)',
      path: 'pipeline.seconds',
      better: 'lower',
      digits: 2,
    },
    { label: 'ratio to LOAD DATA, same run', path: 'ratioToLoadData', better: 'lower', digits: 2 },
    {
      label: 'ingestion process CPU-s',
      path: 'cpuSeconds.ingestionProcess',
      better: 'lower',
      digits: 2,
    },
    { label: 'intake process CPU-s', path: 'cpuSeconds.intakeProcess', better: 'lower', digits: 2 },
    { label: 'mariadbd CPU-s', path: 'cpuSeconds.mysqld', better: 'lower', digits: 2 },
  ],
  'settlement-aggregation': [
    {
      label: 'aggregation events/s, 1M events',
      path: 'aggregation.eventsPerSecond',
      better: 'higher',
      digits: 0,
    },
    {
      label: 'naive baseline events/s',
      path: 'naive.eventsPerSecond',
      better: 'higher',
      digits: 0,
    },
  ],
  'settlement-close': [
    {
      label: 'close seconds (payouts and files), 1M sellers',
      path: 'closeSeconds',
      better: 'lower',
      digits: 2,
    },
    { label: 'outbox relay seconds', path: 'relaySeconds', better: 'lower', digits: 2 },
    { label: 'close and relay seconds', path: 'totalSeconds', better: 'lower', digits: 2 },
    { label: 'close peak RSS MB', path: 'peakRssMb', better: 'lower', digits: 0 },
  ],
};

export interface CompareRun {
  side: 'base' | 'head';
  pair: number;
  seconds: number;
  exitCode: number | null;
  /** By measure path; a figure the run did not write is absent. */
  figures: Record<string, number>;
}

/** One benchmark compared: both sides' runs, alternated in one session, and the medians. */
export interface CompareBench {
  name: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  base: { rev: string; sha: string };
  head: { sha: string; dirty: boolean };
  runs: CompareRun[];
  measures: Array<CompareMeasure & { base?: number; head?: number; ratio?: number }>;
}

/**
 * bench/results/compare-revisions.json: the last comparison of each benchmark. A comparison of
 * some benchmarks replaces only their entries, as `npm run bench -- NAME` keeps the others.
 */
export interface CompareResult {
  benches: CompareBench[];
}
