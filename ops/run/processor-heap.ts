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

/** True when this process runs with a heap limit well above the processor cap (so: none was set). */
export function heapUncapped(): boolean {
  return v8.getHeapStatistics().heap_size_limit > 4 * PROCESSOR_HEAP_MB * 1024 * 1024;
}
