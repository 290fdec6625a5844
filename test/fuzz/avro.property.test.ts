import fs from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../../runtime/config';
import { DecodeError } from '../../runtime/registry/registry-errors';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { useTestResources } from '../fixtures/resources';
import { fuzzParams } from './fuzz-runs';

/**
 * The codec's decode over hostile bytes, through the real registry: random bytes, random
 * mutations of valid encodings (flips, cuts, insertions, deletions), crafted counts and lengths
 * (2^k and its neighbours, negatives, INT64's ends, 11-byte varints) spliced in anywhere, and
 * extreme longs. Invariant, for every input:
 *  - a valid encoding decodes to a value that re-encodes to the very same bytes;
 *  - anything else either throws DecodeError (STS_DECODE_FAILED, not retriable) or decodes to a
 *    value valid for the writer's schema whose encoding decodes back to itself (Avro admits a few
 *    non-canonical spellings: multi-block arrays, over-long varints);
 *  - never another exception, never a hang: each decode is bounded in time.
 * The schemas are our contracts plus one with every Avro type, zero-size items and a map.
 */
const r = useTestResources();
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const PER_INPUT_MS = 250;

const KITCHEN_SINK = {
  type: 'record',
  name: 'Sink',
  namespace: 'sts.test',
  fields: [
    { name: 'flag', type: 'boolean' },
    { name: 'n', type: 'int' },
    { name: 'id', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'raw', type: 'bytes' },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'C'] } },
    { name: 'tags', type: { type: 'map', values: 'long' } },
    { name: 'nothing', type: { type: 'array', items: 'null' } },
    { name: 'empties', type: { type: 'array', items: { type: 'record', name: 'Empty', fields: [] } } },
    { name: 'maybe', type: ['null', 'string', { type: 'record', name: 'Inner', fields: [{ name: 'xs', type: { type: 'array', items: 'long' } }] }] },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};

interface Subject {
  name: string;
  id: number;
  type: avro.Type;
  value: fc.Arbitrary<unknown>;
}

let codec: AvroCodec;
const subjects: Subject[] = [];
/** Outcomes across a property, so it can show it exercised both sides. */
const seen = { refused: 0, decoded: 0 };

const int64 = fc.oneof(
  fc.constantFrom(INT64_MIN, INT64_MAX, -1n, 0n, 1n, 2n ** 53n, -(2n ** 53n) - 1n, 652024209997893632n),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);
const text = fc.string({ unit: 'binary', maxLength: 40 });
const millis = fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms));

beforeAll(async () => {
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  codec = new AvroCodec(registry);
  const register = async (name: string, schema: string, value: fc.Arbitrary<unknown>) => {
    const topic = await r.topic(`avro-fuzz-${name}`, 1);
    const id = await registry.register(`${topic}-value`, schema);
    subjects.push({ name, id, type: await codec.typeFor(id), value });
  };
  const contract = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', file), 'utf8');
  await register(
    'order-event',
    contract('order-event.avsc'),
    fc.record({
      event_id: text,
      event_type: fc.constantFrom('ORDER_COMPLETED', 'ORDER_REFUNDED', 'ORDER_ADJUSTED'),
      order_id: int64,
      shop_user_id: int64,
      region: text,
      currency: text,
      amount_minor: int64,
      category: text,
      affiliate_user_id: fc.option(int64, { nil: null }),
      occurred_at: millis,
    }),
  );
  await register(
    'upload-chunk',
    contract('upload-chunk.avsc'),
    fc.record({
      upload_id: int64,
      chunk_index: fc.integer(),
      columns: fc.array(text, { maxLength: 8 }),
      rows: fc.array(fc.record({ row_number: int64, raw: fc.string({ unit: 'binary', maxLength: 200 }), problem: fc.option(text, { nil: null }) }), { maxLength: 20 }),
    }),
  );
  await register(
    'kitchen-sink',
    JSON.stringify(KITCHEN_SINK),
    fc.record({
      flag: fc.boolean(),
      n: fc.integer(),
      id: int64,
      f: fc.float({ noDefaultInfinity: false }).map((x) => Math.fround(x)),
      d: fc.double(),
      raw: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
      hash: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
      kind: fc.constantFrom('A', 'B', 'C'),
      // Keys from a plain alphabet: a "__proto__" key is a JavaScript object's, not the codec's, matter.
      tags: fc.dictionary(fc.stringMatching(/^[a-z0-9_]{1,8}$/), int64, { maxKeys: 5 }),
      nothing: fc.array(fc.constant(null), { maxLength: 50 }),
      empties: fc.array(fc.constant({}), { maxLength: 50 }),
      maybe: fc.oneof(fc.constant(null), text, fc.record({ xs: fc.array(int64, { maxLength: 5 }) })),
      at: millis,
    }),
  );
}, 60_000);

function frame(id: number, body: Buffer): Buffer {
  const h = Buffer.from([0, 0, 0, 0, 0]);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, body]);
}

function varint(n: bigint): Buffer {
  let u = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n;
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return Buffer.from(out);
}

/** The avsc value of `value` for `type` (records as avsc's record instances). */
function typed(type: avro.Type, value: unknown): unknown {
  return type.fromBuffer(type.toBuffer(value));
}

/**
 * The invariant for one input: DecodeError, or a schema-valid value whose encoding is a fixed
 * point. Returns the outcome so properties can say more.
 */
async function decodeOnce(s: Subject, wire: Buffer): Promise<{ ok: true; bytes: Buffer } | { ok: false }> {
  const t0 = Date.now();
  let value: unknown;
  try {
    value = (await codec.decode(wire, { offset: '1' })).value;
  } catch (err) {
    expect(Date.now() - t0).toBeLessThan(PER_INPUT_MS);
    if (!(err instanceof DecodeError)) throw new Error(`decode threw ${(err as Error).name}: ${(err as Error).message}`);
    expect(err.code).toBe('STS_DECODE_FAILED');
    expect(err.retriable).toBe(false);
    seen.refused++;
    return { ok: false };
  }
  expect(Date.now() - t0).toBeLessThan(PER_INPUT_MS);
  expect(s.type.isValid(value)).toBe(true);
  const once = s.type.toBuffer(value);
  const again = s.type.toBuffer((await codec.decode(frame(s.id, once))).value);
  expect(Buffer.compare(again, once)).toBe(0);
  seen.decoded++;
  return { ok: true, bytes: once };
}

const subjectIndex = () => fc.nat({ max: 2 });

test('valid values, extreme longs included, decode to values that re-encode to the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(
      subjectIndex().chain((i) => fc.tuple(fc.constant(i), subjects[i]!.value)),
      async ([i, raw]) => {
        const s = subjects[i]!;
        const body = s.type.toBuffer(typed(s.type, raw));
        const out = await decodeOnce(s, frame(s.id, body));
        expect(out.ok).toBe(true);
        if (out.ok) expect(Buffer.compare(out.bytes, body)).toBe(0);
      },
    ),
    fuzzParams('avro valid round trip'),
  );
});

test('random bytes under a real schema id are refused with DecodeError or decode to a canonical value', async () => {
  await fc.assert(
    fc.asyncProperty(subjectIndex(), fc.uint8Array({ maxLength: 300 }), async (i, bytes) => {
      await decodeOnce(subjects[i]!, frame(subjects[i]!.id, Buffer.from(bytes)));
    }),
    fuzzParams('avro random bytes', 2),
  );
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({
    kind: fc.constant('varint' as const),
    at: fc.nat(),
    replace: fc.nat({ max: 10 }),
    // Crafted counts and lengths: powers of two and their neighbours, both signs, int64's ends.
    value: fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 62 }), fc.integer({ min: -1, max: 1 }), fc.boolean()).map(([k, d, neg]) => (neg ? -1n : 1n) * (2n ** BigInt(k) + BigInt(d))),
      fc.constantFrom(INT64_MIN, INT64_MAX),
    ),
  }),
  fc.record({ kind: fc.constant('long11' as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(body: Buffer, m: Mutation): Buffer {
  const at = body.length === 0 ? 0 : m.at % (body.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (body.length === 0) return body;
      const out = Buffer.from(body);
      out[at % body.length]! ^= 1 << m.bit;
      return out;
    }
    case 'cut':
      return body.subarray(0, at);
    case 'delete':
      return Buffer.concat([body.subarray(0, at), body.subarray(at + m.n)]);
    case 'insert':
      return Buffer.concat([body.subarray(0, at), Buffer.from(m.bytes), body.subarray(at)]);
    case 'varint':
      return Buffer.concat([body.subarray(0, at), varint(m.value), body.subarray(at + m.replace)]);
    case 'long11':
      return Buffer.concat([body.subarray(0, at), Buffer.from('ffffffffffffffffffff01', 'hex'), body.subarray(at + 1)]);
  }
}

test('mutated valid encodings, crafted counts and lengths spliced in, are refused with DecodeError or decode canonically', async () => {
  await fc.assert(
    fc.asyncProperty(
      subjectIndex().chain((i) => fc.tuple(fc.constant(i), subjects[i]!.value, fc.array(mutation, { minLength: 1, maxLength: 3 }))),
      async ([i, raw, mutations]) => {
        const s = subjects[i]!;
        let body = s.type.toBuffer(typed(s.type, raw));
        for (const m of mutations) body = mutate(body, m);
        await decodeOnce(s, frame(s.id, body));
      },
    ),
    fuzzParams('avro mutations', 4),
  );
  // Both sides were exercised: mutations the walk refused, and mutations that still decode.
  expect(seen.refused).toBeGreaterThan(0);
  expect(seen.decoded).toBeGreaterThan(0);
});

test('an 11-byte varint in any long field is refused, and INT64 min and max are exact', async () => {
  const s = subjects[0]!;
  for (const v of [INT64_MIN, INT64_MAX]) {
    const value = typed(s.type, { event_id: 'e', event_type: 'ORDER_ADJUSTED', order_id: v, shop_user_id: v, region: 'SG', currency: 'SGD', amount_minor: v, category: 'c', affiliate_user_id: v, occurred_at: new Date(0) });
    const decoded = (await codec.decode(frame(s.id, s.type.toBuffer(value)))).value as Record<string, unknown>;
    expect([decoded.order_id, decoded.shop_user_id, decoded.amount_minor, decoded.affiliate_user_id]).toEqual([v, v, v, v]);
  }
  // order_id sits right after event_id ("e") and event_type.
  const prefix = Buffer.concat([varint(1n), Buffer.from('e'), varint(2n)]);
  await expect(codec.decode(frame(s.id, Buffer.concat([prefix, Buffer.from('ffffffffffffffffffff01', 'hex')])))).rejects.toMatchObject({
    code: 'STS_DECODE_FAILED',
    message: expect.stringMatching(/order_id: long at byte 3 is a varint longer than 10 bytes$/),
  });
});
