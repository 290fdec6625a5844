import { useTestResources } from '../../fixtures/resources';
import { effectSummary, produceEffects } from '../../fixtures/effect-processor';
import { spawnProcessorChild } from '../../fixtures/child-process';
import {
  committedOffsets,
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  waitFor,
} from '../../fixtures/processor-harness';

const r = useTestResources();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
/**
 * `npm test` kills 8 processors over 40,000 records; `npm run crash-loop` kills 20 over 100,000
 * (each kill costs a group rebalance of about 7 s, so the long run takes about three minutes).
 */
const KILLS = Math.max(1, Number(process.env.STS_CRASH_LOOP_KILLS ?? 8));
const RECORDS = Math.max(1000, Number(process.env.STS_CRASH_LOOP_RECORDS ?? 40_000));

describe('processor crashes and signals', () => {
  test(`a processor killed with kill -9 mid-batch ${KILLS} times still leaves exactly one effect per message key, and committed offsets reach the end`, async () => {
    const N = RECORDS;
    const s = await effectSetup(r, 4);
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, N);
    // A short sleep inside each transaction makes most kills land with a transaction open.
    const env = { mysqlUrl: s.url, topic: s.topic, group: s.group, txDelayMs: 25, maxRecords: 400 };
    let killedMidTransaction = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawnProcessorChild(env);
      try {
        // Kill only once it is applying effects, at a random moment into its work.
        const begun = await child.waitForLine(/^begin /, 60_000);
        await sleep(Math.floor(Math.random() * 400));
        if (begun) killedMidTransaction++;
      } finally {
        child.proc.kill('SIGKILL');
        await child.exited;
      }
    }
    const last = spawnProcessorChild(env);
    try {
      await waitFor(
        'every effect and every offset',
        async () =>
          (await effectSummary(s.db)).rows === N && (await offsetsAtEnd(r.kafka, s.group, s.topic)),
        150_000,
        500,
      );
    } finally {
      last.proc.kill('SIGTERM');
      expect((await last.exited).code).toBe(0);
    }
    expect(killedMidTransaction).toBeGreaterThan(0);
    // Exactly once: every key once, and no amount added twice to the running totals.
    expect(await effectSummary(s.db)).toEqual({ rows: N, total, balance: total });
    expect(await committedOffsets(r.kafka, s.group, s.topic)).toEqual(
      await endOffsets(r.kafka, s.topic),
    );
  }, 300_000);

  test('SIGTERM makes the processor finish its batch in flight, commit it and exit 0', async () => {
    const s = await effectSetup(r, 1);
    await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 1000);
    const child = spawnProcessorChild({
      mysqlUrl: s.url,
      topic: s.topic,
      group: s.group,
      txDelayMs: 1500,
      maxRecords: 100,
    });
    try {
      const begun = await child.waitForLine(/^begin /, 60_000);
      expect(begun).toBe('begin 0 0 100');
      child.proc.kill('SIGTERM');
      const exit = await child.exited;
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    }
    // The batch it was in finished and committed; it did not start another after the signal.
    expect((await effectSummary(s.db)).rows).toBe(100);
    expect(await committedOffsets(r.kafka, s.group, s.topic)).toEqual(new Map([[0, 100n]]));
  }, 120_000);
});
