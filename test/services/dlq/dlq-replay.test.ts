import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DeadLetterView } from '../../../services/dlq/dlq-letters';
import type { ReplayResult } from '../../../services/dlq/dlq-replay';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { ValidationError } from '../../../runtime/errors';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { effectProcessor, KEY_BASE, type EffectEvent } from '../../fixtures/effect-processor';
import {
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';

/**
 * The DLQ round trip with the real processor runtime: a record refused for a missing rule is
 * dead-lettered, `sts dlq list` shows it decoded with its origin and error, the rule is added,
 * the letter is replayed and applied, and a second replay of the same coordinate is skipped.
 */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const PROMO_KEY = KEY_BASE + 100n; // 652024209997893732

test('a refused record is listed, replayed after the fix, applied once, and a second replay is skipped', async () => {
  const s = await effectSetup(r, 3);
  await s.db.schema.createTable('test_rule', (t) => t.string('name', 64).primary());
  await s.db('test_rule').insert({ name: 'base' });
  const base = effectProcessor(s.topic, s.group);
  await startInProcess(
    r,
    {
      ...base,
      // A record whose rule (its note) is missing is refused, like a commission without a rule.
      async handleBatch(ctx, records) {
        const known = new Set(
          (await ctx.trx('test_rule').select('name')).map((x: { name: string }) => x.name),
        );
        const missing = records.find((x) => !known.has(x.value.note));
        if (missing) throw new ValidationError(`no rule named ${missing.value.note}`);
        await base.handleBatch(ctx, records);
      },
    },
    s,
  );

  const producer = r.kafka.producer({ idempotent: true });
  await producer.connect();
  r.defer(() => producer.disconnect());
  const event = (key: bigint, note: string): EffectEvent => ({
    effect_key: key,
    amount_minor: 1_000_000_007n * (key - KEY_BASE + 1n),
    note,
  });
  const good = await Promise.all(
    [0n, 1n, 2n].map(async (i) => ({
      key: (KEY_BASE + i).toString(),
      value: await s.codec.encode(s.schemaId, event(KEY_BASE + i, 'base')),
    })),
  );
  await producer.send({ topic: s.topic, acks: -1, messages: good });
  const [promoMeta] = await producer.send({
    topic: s.topic,
    acks: -1,
    messages: [
      {
        partition: 2,
        key: PROMO_KEY.toString(),
        value: await s.codec.encode(s.schemaId, event(PROMO_KEY, 'promo-2026')),
        headers: { trace: 'abc-123' },
      },
    ],
  });
  const garbage = crypto.randomBytes(24);
  await producer.send({
    topic: s.topic,
    acks: -1,
    messages: [{ partition: 1, key: 'garbage', value: garbage }],
  });
  await waitFor('the processor to pass every record', () =>
    offsetsAtEnd(r.kafka, s.group, s.topic),
  );
  expect((await endOffsets(r.kafka, s.dlq)).get(0)).toBe(2n);

  const env = { STS_MYSQL_URL: s.url };
  const listed = await runCli(['dlq', 'list', '--topic', s.topic, '--json'], env);
  expect(listed.stderr).toBe('');
  const letters = JSON.parse(listed.stdout) as Array<
    DeadLetterView & { dlq: { offset: string }; original: { offset: string } }
  >;
  expect(letters).toHaveLength(2);
  const promo = letters.find((l) => l.key === PROMO_KEY.toString())!;
  expect(promo).toMatchObject({
    dlq: { topic: s.dlq, partition: 0 },
    original: { topic: s.topic, partition: 2, offset: promoMeta!.baseOffset },
    error: { code: 'STS_VALIDATION_FAILED', message: 'no rule named promo-2026' },
    processor: 'test-effects',
    headers: { trace: 'abc-123' },
    payload: {
      format: 'avro',
      schemaId: s.schemaId,
      value: { effect_key: '652024209997893732', amount_minor: '101000000707', note: 'promo-2026' },
    },
    replayed: null,
  });
  expect(promo.original.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  const bad = letters.find((l) => l.key === 'garbage')!;
  expect(bad.error.code).toBe('STS_DECODE_FAILED');
  expect(bad.payload).toMatchObject({
    format: 'base64',
    base64: garbage.toString('base64'),
    error: { code: 'STS_DECODE_FAILED' },
  });
  const text = await runCli(['dlq', 'list', '--topic', s.dlq], env);
  expect(text.stdout).toContain(`from     ${s.topic}/2/${promoMeta!.baseOffset}`);
  expect(text.stdout).toContain('error    STS_VALIDATION_FAILED: no rule named promo-2026');

  // The fix, then the replay through the API: a viewer may not, an operator may.
  await s.db('test_rule').insert({ name: 'promo-2026' });
  const ctx = createAppContext({ ...r.config, mysqlUrl: s.url }, 'dlq-api-test', {
    logLevel: 'warn',
  });
  const app: FastifyInstance = await buildOpsApi(ctx, {
    tokens: `${VIEWER}:viewer:vera,${OPERATOR}:operator:otto`,
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
  const replay = (token: string, body: object) =>
    fetch(`${baseUrl}/dlq/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const coordinate = { topic: s.topic, partition: 0, offset: promo.dlq.offset };

  expect((await replay(VIEWER, coordinate)).status).toBe(403);
  expect((await s.db('dlq_replay').count({ n: '*' }))[0]).toEqual({ n: '0' });
  const first = await replay(OPERATOR, coordinate);
  expect(first.status).toBe(200);
  const done = (await first.json()) as ReplayResult & {
    replayed: Array<{ to: { offset: string } }>;
  };
  expect(done.skipped).toEqual([]);
  expect(done.replayed).toEqual([
    {
      dlq: { topic: s.dlq, partition: 0, offset: promo.dlq.offset },
      to: { topic: s.topic, partition: 2, offset: expect.stringMatching(/^\d+$/) },
    },
  ]);

  await waitFor(
    'the replayed record to be applied',
    async () => (await s.db('test_effect').where('effect_key', PROMO_KEY.toString())).length === 1,
  );
  const [row] = await s.db('test_effect').where('effect_key', PROMO_KEY.toString());
  expect({
    amount: String(row.amount_minor),
    partition: row.src_partition,
    offset: String(row.src_offset),
  }).toEqual({ amount: '101000000707', partition: 2, offset: done.replayed[0]!.to.offset });

  // Again, by coordinate through the CLI: skipped, nothing published.
  const ends = await endOffsets(r.kafka, s.topic);
  const again = await runCli(
    ['dlq', 'replay', '--topic', s.dlq, '--partition', '0', '--offset', promo.dlq.offset, '--json'],
    env,
  );
  expect(again.code).toBe(0);
  const skipped = JSON.parse(again.stdout) as ReplayResult;
  expect(skipped.replayed).toEqual([]);
  expect(skipped.skipped).toEqual([
    {
      dlq: { topic: s.dlq, partition: 0, offset: promo.dlq.offset },
      reason: expect.stringMatching(/^already replayed at .* by api:otto/),
    },
  ]);
  expect(await endOffsets(r.kafka, s.topic)).toEqual(ends);

  // --all replays only what is left: the undecodable record, which fails again and is
  // dead-lettered at a new coordinate that names where it was replayed from.
  const all = (await (await replay(OPERATOR, { topic: s.dlq, all: true })).json()) as ReplayResult;
  expect(all.replayed.map((x) => x.dlq.offset)).toEqual([bad.dlq.offset]);
  expect(all.skipped.map((x) => x.dlq.offset)).toEqual([promo.dlq.offset]);
  await waitFor(
    'the third dead letter',
    async () => (await endOffsets(r.kafka, s.dlq)).get(0) === 3n,
  );
  const after = (await (
    await fetch(`${baseUrl}/dlq?topic=${s.dlq}`, { headers: { authorization: `Bearer ${VIEWER}` } })
  ).json()) as Array<DeadLetterView & { dlq: { offset: string } }>;
  // Oldest first: the two first letters in whatever order the partitions were processed.
  expect(after.map((l) => [l.dlq.offset, l.replayed?.by ?? null])).toEqual([
    ['0', 'api:otto'],
    ['1', 'api:otto'],
    ['2', null],
  ]);
  expect(after[2]!.headers['sts-replayed-from']).toBe(`${s.dlq}/0/${bad.dlq.offset}`);
  expect(after[2]!.original).toMatchObject({ topic: s.topic, partition: 1 });
  expect((await s.db('test_effect').count({ n: '*' }))[0]).toEqual({ n: '4' });
});

test('a replay with neither a coordinate nor --all is refused, and an unknown coordinate is a 404-style error', async () => {
  const s = await effectSetup(r, 1);
  const env = { STS_MYSQL_URL: s.url };
  const none = await runCli(['dlq', 'replay', '--topic', s.topic, '--json'], env);
  expect(none.code).toBe(1);
  expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, code: 'STS_DLQ_REPLAY_REFUSED' });
  const missing = await runCli(
    [
      'dlq',
      'replay',
      '--topic',
      s.topic,
      '--partition',
      '0',
      '--offset',
      '652024209997893632',
      '--json',
    ],
    env,
  );
  expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, code: 'STS_NOT_FOUND' });
  const empty = await runCli(['dlq', 'list', '--topic', s.topic], env);
  expect(empty.stdout).toBe('no dead letters\n');
});
