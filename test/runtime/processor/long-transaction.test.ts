import { useTestResources } from '../../fixtures/resources';
import { effectProcessor, effectSummary, produceEffects } from '../../fixtures/effect-processor';
import { effectSetup, offsetsAtEnd, startInProcess, waitFor } from '../../fixtures/processor-harness';

const r = useTestResources();

test('a transaction longer than the session timeout keeps its partition and commits once', async () => {
  const s = await effectSetup(r, 1);
  const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 10);
  const def = effectProcessor(s.topic, s.group);
  let calls = 0;
  await startInProcess(
    r,
    {
      ...def,
      async handleBatch(ctx, records) {
        calls++;
        await def.handleBatch(ctx, records);
        // 1.5x the session timeout: without heartbeats the broker would evict the member.
        await new Promise((res) => setTimeout(res, 9000));
      },
    },
    s,
    { sessionTimeout: 6000, heartbeatInterval: 1000 },
  );
  await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic), 60_000);
  expect(calls).toBe(1);
  expect(await effectSummary(s.db)).toEqual({ rows: 10, total, balance: total });
});
