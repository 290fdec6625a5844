import { useTestResources } from '../../fixtures/resources';
import {
  EFFECT_SCHEMA,
  effectProcessor,
  effectSummary,
  produceEffects,
} from '../../fixtures/effect-processor';
import {
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';

const r = useTestResources();

/**
 * Regression: AvroCodec caches resolvers by (schema id, reader fingerprint), and avsc rejects a
 * resolver built for another Type instance with "invalid resolver". A processor restarted in the
 * same process with its own copy of the reader schema dead-lettered every record it read.
 */
test('a processor restarted in the same process with a copy of its reader schema decodes its input', async () => {
  const s = await effectSetup(r, 1);
  const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 20);
  const first = await startInProcess(r, effectProcessor(s.topic, s.group), s);
  await waitFor('the first pass', () => offsetsAtEnd(r.kafka, s.group, s.topic));
  await first.stop();

  const more = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 20, 20);
  const copy = JSON.parse(JSON.stringify(EFFECT_SCHEMA)) as object;
  await startInProcess(r, effectProcessor(s.topic, s.group, { readerSchema: copy }), s);
  await waitFor('the second pass', () => offsetsAtEnd(r.kafka, s.group, s.topic));

  expect(await effectSummary(s.db)).toEqual({
    rows: 40,
    total: total + more,
    balance: total + more,
  });
  expect([...(await endOffsets(r.kafka, s.dlq)).values()]).toEqual([0n]);
});
