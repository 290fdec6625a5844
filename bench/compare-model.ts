/**
 * What `npm run bench:compare` measures and keeps (bench/results/compare-revisions.json): per
 * benchmark the figures compared between an earlier revision and this tree, and the shape of the
 * kept result, shared by the runner (compare-revisions.ts) and the report (report-compare.ts).
 */
import { parseBenchResult } from './bench-result';

export interface CompareMeasure {
  label: string;
  /** The figure's name in the benchmark's result (bench-result.ts). */
  figure: string;
  /**
   * Where a revision from before the typed result kept the same figure in its JSON (a dotted
   * path): the base of a comparison can be such a revision.
   */
  legacyPath: string;
  better: 'lower' | 'higher';
  digits: number;
}

/** The figures that would show a slowdown: the headline, and where the CPU or memory goes. */
export const COMPARE_MEASURES: Readonly<Record<string, readonly CompareMeasure[]>> = {
  'upload-ingestion': [
    {
      label: 'pipeline seconds, 1M rows (median of its rounds)',
      figure: 'pipelineSeconds',
      legacyPath: 'pipeline.seconds',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'ratio to LOAD DATA, same run',
      figure: 'ratioToLoadData',
      legacyPath: 'ratioToLoadData',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'ingestion process CPU-s',
      figure: 'ingestionCpuSeconds',
      legacyPath: 'cpuSeconds.ingestionProcess',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'intake process CPU-s',
      figure: 'intakeCpuSeconds',
      legacyPath: 'cpuSeconds.intakeProcess',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'mariadbd CPU-s',
      figure: 'mysqldCpuSeconds',
      legacyPath: 'cpuSeconds.mysqld',
      better: 'lower',
      digits: 2,
    },
  ],
  'settlement-aggregation': [
    {
      label: 'aggregation events/s, 1M events',
      figure: 'eventsPerSecond',
      legacyPath: 'aggregation.eventsPerSecond',
      better: 'higher',
      digits: 0,
    },
    {
      label: 'naive baseline events/s',
      figure: 'naiveEventsPerSecond',
      legacyPath: 'naive.eventsPerSecond',
      better: 'higher',
      digits: 0,
    },
  ],
  'settlement-close': [
    {
      label: 'close seconds (payouts and files), 1M sellers',
      figure: 'closeSeconds',
      legacyPath: 'closeSeconds',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'outbox relay seconds',
      figure: 'relaySeconds',
      legacyPath: 'relaySeconds',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'close and relay seconds',
      figure: 'totalSeconds',
      legacyPath: 'totalSeconds',
      better: 'lower',
      digits: 2,
    },
    {
      label: 'close peak RSS MB',
      figure: 'peakRssMb',
      legacyPath: 'peakRssMb',
      better: 'lower',
      digits: 0,
    },
  ],
};

export interface CompareRun {
  side: 'base' | 'head';
  pair: number;
  seconds: number;
  exitCode: number | null;
  /** By figure name; a figure the run did not write is absent. */
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

/** A measure's value in what one run wrote, typed result or legacy JSON; undefined if absent. */
export function measuredIn(json: unknown, m: CompareMeasure): number | undefined {
  const result = parseBenchResult(json);
  if (typeof result === 'object') return result.figures[m.figure]?.value ?? undefined;
  let at: unknown = json;
  for (const key of m.legacyPath.split('.'))
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}
