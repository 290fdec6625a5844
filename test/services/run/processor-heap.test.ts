import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { PROCESSOR_HEAP_MB, processorNodeOptions } from '../../../services/run/processor-heap';

/**
 * Under the processor heap cap V8 grows the heap only a little past the live set, so a process
 * that keeps promoting batch data runs a full collection every few megabytes. tuneHeapGrowth()
 * must cut that count sharply, within the same cap.
 */
function collections(tune: boolean, nodeOptions = `--max-old-space-size=${PROCESSOR_HEAP_MB}`): { majorGcs: number; minorGcs: number } {
  const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'test', 'fixtures', 'heap-churn.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_OPTIONS: nodeOptions, HEAP_TUNE: tune ? '1' : '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`heap-churn exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as { majorGcs: number; minorGcs: number };
}
const majorGcs = (tune: boolean) => collections(tune).majorGcs;

describe('processor heap', () => {
  test('a capped processor that tunes its heap growth runs about half the full collections', () => {
    const untuned = majorGcs(false);
    const tuned = majorGcs(true);
    // Measured: 44 or 45 untuned, 21 tuned, run after run.
    expect(untuned).toBeGreaterThan(20);
    expect(tuned).toBeLessThan(untuned * 0.6);
  }, 120_000);

  test('the options a processor is started with give it a young generation that lets garbage die young', () => {
    expect(processorNodeOptions('')).toBe(`--max-old-space-size=${PROCESSOR_HEAP_MB} --max-semi-space-size=32`);
    // An operator's own choice of either is kept.
    expect(processorNodeOptions('--max-semi-space-size=8')).toBe(`--max-semi-space-size=8 --max-old-space-size=${PROCESSOR_HEAP_MB}`);
    const capOnly = collections(true).minorGcs;
    const shipped = collections(true, processorNodeOptions('')).minorGcs;
    expect(capOnly).toBeGreaterThan(100);
    // Measured: 245 with the cap alone, 126 as shipped.
    expect(shipped).toBeLessThan(capOnly * 0.7);
  }, 120_000);
});
