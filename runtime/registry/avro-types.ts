import avro from 'avsc';

/**
 * avsc types for our contracts: Avro `long` is a JS `bigint` (ids are 18 digits, and a JS number
 * loses precision above 2^53 — DESIGN lesson 8), and timestamp-millis is a Date.
 *
 * Every parse gets a FRESH registry object. avsc records named types into the registry it is
 * given; sharing one across parses (as a schema-registry client does with its options) makes the
 * second parse of any schema fail with "duplicate type name".
 */

const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  // Decimal string, never Number(): the whole point is not to lose digits.
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

class TimestampMillis extends avro.types.LogicalType {
  override _fromValue(v: bigint): Date {
    return new Date(Number(v));
  }
  override _toValue(v: unknown): bigint | undefined {
    if (v instanceof Date) return BigInt(v.getTime());
    if (typeof v === 'bigint') return v;
    return undefined;
  }
  override _resolve(type: avro.Type) {
    if (avro.Type.isType(type, 'long', 'logical:timestamp-millis')) return (v: unknown) => v;
    return undefined;
  }
}

export function parseAvro(schema: string | object): avro.Type {
  const parsed = typeof schema === 'string' ? (JSON.parse(schema) as object) : schema;
  return avro.Type.forSchema(parsed as avro.Schema, {
    registry: { long: BigIntLong },
    logicalTypes: { 'timestamp-millis': TimestampMillis },
  } as unknown as Partial<avro.ForSchemaOptions>);
}
