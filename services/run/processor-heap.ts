import v8 from 'node:v8';

/**
 * The V8 heap a long-running processor (`sts run`) should be started with. A processor's live set
 * is tens of MB (a batch of chunks or events), but an uncapped V8 on a large machine lets garbage
 * grow to several hundred MB before collecting it: a 1M-row upload took the ingestion process to
 * 337 MB with no cap and 203 MB with a 160 MB cap, at the same speed (bench/upload-ingestion.ts).
 * V8 fixes the limit when the process starts, so it is set from outside, through NODE_OPTIONS, by
 * whatever starts the process: a service unit, the chaos supervisor, a benchmark.
 */
export const PROCESSOR_HEAP_MB = 192;

/**
 * The young generation's semi-space, in MB. A processor makes garbage at a high rate (a chunk's
 * parsed fields, an event's decoded record) that dies within a batch; with V8's default under the
 * cap (it behaves as 16 MB: the same scavenge count), part of it is still live at each scavenge
 * and is copied, some of it promoted. 32 MB halves the scavenges (test/fixtures/heap-churn.ts: 245
 * to 126) and cut the ingestion process's collection time by a fifth on a 300k-row upload (1.15
 * to 0.92 s, bench/upload-ingestion.ts with --cpu-prof), at the same peak RSS there and 35 MB more
 * in the churn fixture. Like the cap, V8 reads it only at start, so it travels in NODE_OPTIONS.
 */
export const PROCESSOR_SEMI_SPACE_MB = 32;

/** The V8 options a processor runs with: the heap cap and the semi-space. */
export const PROCESSOR_NODE_OPTIONS = `--max-old-space-size=${PROCESSOR_HEAP_MB} --max-semi-space-size=${PROCESSOR_SEMI_SPACE_MB}`;

/** NODE_OPTIONS with the processor heap cap and semi-space added, each unless already there. */
export function processorNodeOptions(existing = ''): string {
  let out = existing;
  if (!/--max-old-space-size=/.test(out)) out = `${out} --max-old-space-size=${PROCESSOR_HEAP_MB}`;
  if (!/--max-semi-space-size=/.test(out)) out = `${out} --max-semi-space-size=${PROCESSOR_SEMI_SPACE_MB}`;
  return out.trim();
}

/**
 * How far V8 lets the heap grow past the live set before the next full collection, for a capped
 * processor. Under a cap this small V8 uses its low-memory setting, growth of 1.1 to 1.3 times the
 * live set: the ingestion process (about 40 MB live) ran a full mark-compact every 300 ms, 68 for
 * a 1M-row upload, about a third of its CPU. Growing to 3 times the live set, still within the
 * cap, took that to 22 and the process's CPU from 13.5 to 11 s, at 229 MB peak RSS instead of 200
 * (bench/upload-ingestion.ts).
 */
export const HEAP_GROWING_PERCENT = 200;

/**
 * Sets HEAP_GROWING_PERCENT on this process, when it runs capped (uncapped, V8 already grows the
 * heap 4 times). NODE_OPTIONS refuses this V8 flag, so a processor sets it on itself at start; V8
 * reads it each time it sizes the heap for the next collection.
 */
export function tuneHeapGrowth(): void {
  if (!heapUncapped()) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** True when this process runs with a heap limit well above the processor cap (so: none was set). */
export function heapUncapped(): boolean {
  return v8.getHeapStatistics().heap_size_limit > 4 * PROCESSOR_HEAP_MB * 1024 * 1024;
}
