import { useTestResources } from '../../fixtures/resources';
import { effectProcessor, effectSummary, produceEffects } from '../../fixtures/effect-processor';
import {
  committedOffsets,
  effectSetup,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';

const r = useTestResources();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('processor commit order', () => {
  test('offsets are committed only after the transaction commits', async () => {
    const s = await effectSetup(r, 1);
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 50);
    const def = effectProcessor(s.topic, s.group);
    let attempts = 0;
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let inside!: () => void;
    const entered = new Promise<void>((res) => (inside = res));
    await startInProcess(
      r,
      {
        ...def,
        async handleBatch(ctx, records) {
          attempts++;
          await def.handleBatch(ctx, records);
          if (attempts === 1) {
            inside();
            await gate;
            // The effects above are written but uncommitted; a deadlock now must roll them back.
            throw Object.assign(new Error('Deadlock found when trying to get lock'), {
              code: 'ER_LOCK_DEADLOCK',
              errno: 1213,
            });
          }
        },
      },
      s,
    );

    await entered;
    // The transaction is open with every effect written: neither the effects nor the offsets
    // may be visible yet.
    await sleep(1500);
    expect((await effectSummary(s.db)).rows).toBe(0);
    expect(await committedOffsets(r.kafka, s.group, s.topic)).toEqual(new Map([[0, -1n]]));
    release();

    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));
    expect(attempts).toBe(2);
    expect(await effectSummary(s.db)).toEqual({ rows: 50, total, balance: total });
  });

  test('a FLUSHALL during a run causes no duplicate effect', async () => {
    const s = await effectSetup(r, 2);
    const N = 3000;
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, N);
    const def = effectProcessor(s.topic, s.group);
    const handle = await startInProcess(
      r,
      {
        ...def,
        async handleBatch(ctx, records) {
          await def.handleBatch(ctx, records);
          await sleep(20);
        },
      },
      s,
      { maxRecordsPerTransaction: 100 },
    );
    await waitFor('the first effects', async () => (await effectSummary(s.db)).rows > 0);
    // Redis is never the system of record (docs/DESIGN.md, "Guarantees"): wiping it mid-run must
    // not matter.
    expect(await r.redis().flushall()).toBe('OK');
    await handle.stop();
    // Restarting in the same group redelivers whatever was in flight: still exactly once.
    await startInProcess(r, def, s);
    await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));
    expect(await effectSummary(s.db)).toEqual({ rows: N, total, balance: total });
  });
});
