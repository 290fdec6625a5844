import { asStsError } from '../../runtime/errors';
import type { AvroCodec } from '../../runtime/registry/avro-codec';

/**
 * A dead letter's value as an operator can read it: the Avro record decoded with the writer's
 * schema (by the id in its header), made JSON-safe (long as a decimal string, bytes as base64,
 * timestamps as ISO 8601). Bytes that do not decode are shown as base64 with the reason, which
 * is often why the record was dead-lettered in the first place.
 *
 * A letter is whatever some producer sent, so nothing here is unbounded: decoding goes through the
 * codec's bounds (a record claiming 2^60 items is refused before anything is allocated, and shown
 * as base64 with that reason), a decoded value whose JSON is longer than PAYLOAD_VIEW_LIMITS.jsonChars
 * is shown as a preview of that length, raw bytes as their first `rawBytes`, and a reason as its
 * first `messageChars`. One letter's view therefore stays a few KiB, whatever it holds.
 */
export type PayloadView =
  | { format: 'avro'; schemaId: number; value: unknown }
  | { format: 'avro-preview'; schemaId: number; preview: string; jsonChars: number }
  | {
      format: 'base64';
      /** The first PAYLOAD_VIEW_LIMITS.rawBytes bytes. */
      base64: string;
      bytes: number;
      truncated: boolean;
      error: { code: string; message: string };
    }
  | { format: 'empty' };

export const PAYLOAD_VIEW_LIMITS = {
  /** JSON text of a decoded value shown whole up to this length, else its start. */
  jsonChars: 8192,
  /** Raw bytes shown (as base64) of a value that does not decode. */
  rawBytes: 1024,
  /** Characters of an error message, a header value or a key. */
  messageChars: 500,
};

export async function viewPayload(codec: AvroCodec, value: Buffer | null): Promise<PayloadView> {
  if (value === null || value.length === 0) return { format: 'empty' };
  let decoded: { schemaId: number; value: unknown };
  try {
    decoded = await codec.decode(value);
  } catch (err) {
    // Any failure, a refused body or an unreachable registry alike, is shown with its reason: one
    // letter must never make the listing fail.
    const e = asStsError(err);
    return {
      format: 'base64',
      base64: value.subarray(0, PAYLOAD_VIEW_LIMITS.rawBytes).toString('base64'),
      bytes: value.length,
      truncated: value.length > PAYLOAD_VIEW_LIMITS.rawBytes,
      error: { code: e.code, message: capText(e.message) },
    };
  }
  const safe = jsonSafe(decoded.value);
  const json = JSON.stringify(safe);
  if (json.length <= PAYLOAD_VIEW_LIMITS.jsonChars) return { format: 'avro', schemaId: decoded.schemaId, value: safe };
  return {
    format: 'avro-preview',
    schemaId: decoded.schemaId,
    preview: json.slice(0, PAYLOAD_VIEW_LIMITS.jsonChars),
    jsonChars: json.length,
  };
}

/** At most PAYLOAD_VIEW_LIMITS.messageChars characters, marked when cut. */
export function capText(text: string, max = PAYLOAD_VIEW_LIMITS.messageChars): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** Deep copy with bigint as decimal strings, Buffers as base64 and Dates as ISO 8601. */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}
