import avro from 'avsc';

/**
 * avsc types for our contracts: Avro `long` is a JS `bigint` (ids are 18 digits, and a JS number
 * loses precision above 2^53 — docs/DESIGN.md, lesson 8), and timestamp-millis is a Date.
 *
 * Every parse gets a FRESH registry object. avsc records named types into the registry it is
 * given; sharing one across parses (as a schema-registry client does with its options) makes the
 * second parse of any schema fail with "duplicate type name".
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// avsc packs the 8 bytes into a varint before toBuffer is called again (its _write is
// synchronous), so one scratch buffer serves every write: an allocation per long field was a
// measurable share of encoding a million outbox events.
const scratch = Buffer.alloc(8);

const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    scratch.writeBigInt64LE(n);
    return scratch;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  // Decimal string, never Number(): the whole point is not to lose digits.
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const MAX_DATE_MS = 8.64e15;

class TimestampMillis extends avro.types.LogicalType {
  // The underlying type is avsc's own number-based LongType: the bigint registry entry replaces
  // the name "long", not the object form `{ "type": "long", "logicalType": ... }`. Millisecond
  // timestamps stay far below 2^53, so a number is exact here.
  override _fromValue(v: number): Date {
    // Outside ±8.64e15 ms a Date is Invalid and would re-encode as garbage: refuse it here, where
    // the codec turns it into a decode failure, instead of handing an Invalid Date to a handler.
    if (!(Math.abs(v) <= MAX_DATE_MS)) throw new Error(`timestamp-millis ${v} is outside the range of a date`);
    return new Date(v);
  }
  override _toValue(v: unknown): number | undefined {
    if (v instanceof Date) return v.getTime();
    return undefined;
  }
  override _resolve(type: avro.Type) {
    if (avro.Type.isType(type, 'long', 'logical:timestamp-millis')) return (v: unknown) => v;
    return undefined;
  }
}

/**
 * `{"type": "long"}` (no logical type) means the same as `"long"`, but avsc only looks the bare
 * name up in the registry, so the object form would decode as a lossy JS number. Rewrite it.
 */
function normaliseLongs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normaliseLongs);
  if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    // A field object also has `type`, but always a `name`; a primitive type object never does.
    if (obj.type === 'long' && obj.logicalType === undefined && obj.name === undefined) return 'long';
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, k === 'default' ? v : normaliseLongs(v)]));
  }
  return node;
}

export function parseAvro(schema: string | object): avro.Type {
  const parsed = normaliseLongs(typeof schema === 'string' ? JSON.parse(schema) : schema);
  return avro.Type.forSchema(parsed as avro.Schema, {
    registry: { long: BigIntLong },
    logicalTypes: { 'timestamp-millis': TimestampMillis },
  } as unknown as Partial<avro.ForSchemaOptions>);
}
