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

/** NODE_OPTIONS with the processor heap cap added, unless one is already there. */
export function processorNodeOptions(existing = ''): string {
  return /--max-old-space-size=/.test(existing) ? existing : `${existing} --max-old-space-size=${PROCESSOR_HEAP_MB}`.trim();
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
