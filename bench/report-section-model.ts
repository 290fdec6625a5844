import { fmt, field } from './report-format';

/**
 * What one benchmark's section says, as data: comparisons (a figure beside its same-run
 * reference), target checks and details. report-sections.ts builds these from each benchmark's
 * JSON; benchmarks-report.ts turns them into Markdown.
 */

export interface Comparison {
  measure: string;
  figure: number | undefined;
  reference: string;
  referenceFigure: number | undefined;
  /** Digits after the point for both figures. */
  digits?: number;
}

export interface Target {
  /** What is promised, e.g. "≥ 30,000 records/s". */
  text: string;
  /** Where the promise comes from, e.g. "issue 3". */
  source: string;
  actual: number | undefined;
  op: '>=' | '<=';
  threshold: number;
  unit: string;
  digits?: number;
  /** Set when this run cannot say (a size-bound target measured at another size). */
  notAssessed?: string;
}

export type TargetStatus = 'met' | 'not met' | 'n/a' | 'not assessed';

export function targetStatus(t: Target): TargetStatus {
  if (t.notAssessed) return 'not assessed';
  if (t.actual === undefined) return 'n/a';
  return (t.op === '>=' ? t.actual >= t.threshold : t.actual <= t.threshold) ? 'met' : 'not met';
}

export interface SectionModel {
  /** The run's size in words, e.g. "1,000,000 rows". */
  size: string;
  /** Set when the run's size differs from the size the issue's targets are set for. */
  sizeNote?: string;
  comparisons: Comparison[];
  targets: Target[];
  /** Further Markdown (phase tables, memory, exactness), numbers from the JSON only. */
  details: string[];
}

export interface SectionSpec {
  name: string;
  title: string;
  what: string;
  build(json: unknown, all: Readonly<Record<string, unknown>>): SectionModel;
}

/** The JSON's own exactness flag, which the benchmark also turns into its exit code. */
export function exactness(json: unknown, key = 'exact'): string[] {
  const v = field(json, key);
  if (v === true) return ['Effects checked exact (counts and sums) in this run.'];
  if (v === false) return ['**Effects were NOT exact in this run** (see the benchmark output).'];
  return [];
}

export function sizeNote(
  actual: number | undefined,
  issue: number,
  unit: string,
): string | undefined {
  if (actual === undefined || actual === issue) return undefined;
  return `Measured at ${fmt(actual)} ${unit}; the issue's size is ${fmt(issue)} ${unit}, so the target checks below are indicative only.`;
}
