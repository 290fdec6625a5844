import fs from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { benchOutput } from './bench-run-record';
import { fmt } from './report-format';

/**
 * What every benchmark returns: its named figures, each comparison of a figure with its same-run
 * reference, the targets the issues set, and notes in Markdown (phase tables, memory, exactness).
 * The benchmark decides all of it at the end of its run; the report (benchmarks-report.ts) only
 * lays it out, and `npm run bench:compare` reads the figures by name. Both read the kept file
 * through `parseBenchResult`, so a file of another shape is refused as a whole, never half read.
 */

export const BENCH_RESULT_FORMAT = 1;

const figureSchema = z.object({
  /** null: the run could not measure it (JSON has no undefined). */
  value: z.number().nullable(),
  unit: z.string(),
  /** Digits after the point wherever it is shown. */
  digits: z.number().int().min(0).max(3),
});

/** A figure of another benchmark's kept result, e.g. ProducerPerformance beside the relay's rate. */
const foreignFigureSchema = z.object({ bench: z.string(), figure: z.string() });

const comparisonSchema = z.object({
  measure: z.string(),
  /** The name of a figure of this result. */
  figure: z.string(),
  reference: z.string(),
  referenceFigure: z.union([z.string(), foreignFigureSchema]),
});

const targetSchema = z.object({
  /** What is promised, e.g. "≥ 30,000 records/s". */
  text: z.string(),
  /** Where the promise comes from, e.g. "issue 3". */
  source: z.string(),
  /** The figure judged; its unit and digits are the target's. */
  figure: z.string(),
  op: z.enum(['>=', '<=']),
  threshold: z.number(),
  /** Set when this run cannot say (a size-bound target measured at another size). */
  notAssessed: z.string().optional(),
});

const benchResultSchema = z
  .object({
    format: z.literal(BENCH_RESULT_FORMAT),
    name: z.string(),
    at: z.string(),
    /** The run's size in words, e.g. "1,000,000 rows". */
    size: z.string(),
    /** Set when the size differs from the one the issue's targets are set for. */
    sizeNote: z.string().optional(),
    figures: z.record(z.string(), figureSchema),
    comparisons: z.array(comparisonSchema),
    targets: z.array(targetSchema),
    notes: z.array(z.string()),
    /** The run's own record (rounds, per-process CPU, server), for people; nothing reads it. */
    data: z.unknown(),
  })
  .superRefine((r, ctx) => {
    const names = [
      ...r.comparisons.map((c) => c.figure),
      ...r.comparisons.flatMap((c) =>
        typeof c.referenceFigure === 'string' ? [c.referenceFigure] : [],
      ),
      ...r.targets.map((t) => t.figure),
    ];
    for (const name of names)
      if (!(name in r.figures))
        ctx.addIssue({ code: 'custom', message: `no figure named ${name}` });
  });

export type Figure = z.infer<typeof figureSchema>;
export type ForeignFigure = z.infer<typeof foreignFigureSchema>;
export type Comparison = z.infer<typeof comparisonSchema>;
export type Target = z.infer<typeof targetSchema>;
export type BenchResult = z.infer<typeof benchResultSchema>;
/** What a benchmark hands to writeBenchResult, which stamps the format and the time. */
export type BenchResultBody = Omit<BenchResult, 'format' | 'at'>;

/** The result, or a sentence saying why the value is not one. */
export function parseBenchResult(json: unknown): BenchResult | string {
  const parsed = benchResultSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  return parsed.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ');
}

/** A figure; a missing or non-finite value becomes null. */
export function figure(value: number | null | undefined, unit: string, digits = 0): Figure {
  return {
    value: value === undefined || value === null || !Number.isFinite(value) ? null : value,
    unit,
    digits,
  };
}

/** figure / reference, or null when either is missing or the reference is zero. */
export function ratioOf(
  figure: number | null | undefined,
  reference: number | null | undefined,
): number | null {
  if (figure === undefined || figure === null || !reference) return null;
  const r = figure / reference;
  return Number.isFinite(r) ? r : null;
}

/**
 * Prints the result and keeps it where `npm run bench` collects it (STS_DATA_DIR/bench/NAME.json).
 * A result that breaks its own shape fails the benchmark here, not the report later.
 */
export function writeBenchResult(dataDir: string, result: BenchResultBody): BenchResult {
  const full = { format: BENCH_RESULT_FORMAT, at: new Date().toISOString(), ...result };
  const checked = parseBenchResult(full);
  if (typeof checked === 'string')
    throw new Error(`${result.name}: the result is malformed: ${checked}`);
  const file = benchOutput(dataDir, result.name);
  fs.mkdirSync(dirname(file), { recursive: true });
  const text = `${JSON.stringify(full, null, 2)}\n`;
  fs.writeFileSync(file, text);
  process.stdout.write(text);
  process.stdout.write(`wrote ${file}\n`);
  return checked;
}

/** A note from the run's own exactness flag, which the benchmark also turns into its exit code. */
export function exactnessNote(exact: boolean | undefined): string[] {
  if (exact === true) return ['Effects checked exact (counts and sums) in this run.'];
  if (exact === false)
    return ['**Effects were NOT exact in this run** (see the benchmark output).'];
  return [];
}

/** Said when a run's size is not the issue's, so its target checks are indicative only. */
export function sizeNote(actual: number, issue: number, unit: string): string | undefined {
  if (actual === issue) return undefined;
  return `Measured at ${fmt(actual)} ${unit}; the issue's size is ${fmt(issue)} ${unit}, so the target checks below are indicative only.`;
}
