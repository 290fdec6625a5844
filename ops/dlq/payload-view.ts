import { asStsError } from '../../runtime/errors';
import type { AvroCodec } from '../../runtime/registry/avro-codec';

/**
 * A dead letter's value as an operator can read it: the Avro record decoded with the writer's
 * schema (by the id in its header), made JSON-safe (long as a decimal string, bytes as base64,
 * timestamps as ISO 8601). Bytes that do not decode are shown as base64 with the reason, which
 * is often why the record was dead-lettered in the first place.
 */
export type PayloadView =
  | { format: 'avro'; schemaId: number; value: unknown }
  | { format: 'base64'; base64: string; error: { code: string; message: string } }
  | { format: 'empty' };

export async function viewPayload(codec: AvroCodec, value: Buffer | null): Promise<PayloadView> {
  if (value === null || value.length === 0) return { format: 'empty' };
  try {
    const decoded = await codec.decode(value);
    return { format: 'avro', schemaId: decoded.schemaId, value: jsonSafe(decoded.value) };
  } catch (err) {
    const e = asStsError(err);
    return {
      format: 'base64',
      base64: value.toString('base64'),
      error: { code: e.code, message: e.message },
    };
  }
}

/** Deep copy with bigint as decimal strings, Buffers as base64 and Dates as ISO 8601. */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}
