import fs from 'node:fs/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { useTestResources } from '../../fixtures/resources';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

const r = useTestResources();
const COUNT = 200_000;

// A full GC before each sample makes heapUsed the LIVE heap, so the peak below is what the work
// holds, not garbage the collector has not reached yet.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Peak live-heap growth over the level before `work`, sampled every 250 ms while it runs. */
async function peakLiveHeap<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  const sample = () => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  };
  const timer = setInterval(sample, 250);
  try {
    return { result: await work(), peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

describe('a 200k-payout file', () => {
  it('is written, verified and released a page at a time, never holding the file in memory', async () => {
    const { db } = await r.database();
    // Seeded in slices, so the test itself never holds 200k rows either.
    for (let i = 0; i < COUNT; i += 10_000) {
      const slice = Array.from({ length: 10_000 }, (_, k) => i + k);
      await seedPayouts(
        db,
        slice.map((n) => ({
          id: BASE_ID + BigInt(n) * 7n,
          shopUserId: BASE_ID + BigInt(n),
          amountMinor: BigInt((n % 99_999) + 1),
        })),
      );
    }
    const dataDir = await tempDataDir(r);

    const { result, peakBytes } = await peakLiveHeap(() =>
      writePayoutFiles(db, dataDir, 'SG', CYCLE),
    );
    const file = result.files[0]!;
    const size = (await fs.stat(file.path)).size;

    expect(result.failures).toEqual([]);
    expect([file.status, file.nbOfTxs, file.pages, file.maxPageRows]).toEqual([
      'RELEASED',
      COUNT,
      20,
      10_000,
    ]);
    let expected = 0n;
    for (let n = 0; n < COUNT; n++) expected += BigInt((n % 99_999) + 1);
    expect(file.ctrlSumMinor).toBe(expected);
    // The file is ~68 MB. Streaming holds one page (~15 MB live, measured); rendering the file in
    // one string from 200k loaded rows peaks near 150 MB live.
    expect(size).toBeGreaterThan(64 * 2 ** 20);
    expect(peakBytes).toBeLessThan(48 * 2 ** 20);
  }, 300_000);
});
