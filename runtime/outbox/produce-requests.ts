import type { Message } from 'kafkajs';

/**
 * Sizing the relay's produce requests: what a message costs in a request, how a batch is cut into
 * requests that each fit the broker, and how the broker's "too large" refusal is recognised. The
 * estimate errs on the large side; the broker has the last word (outbox-relay.ts halves a refused
 * request and parks a row refused on its own).
 */

/**
 * Bytes a message takes in a produce request, over-estimated: key, value, headers and the record
 * framing (length, attributes, deltas, varints), plus a share of the record batch header.
 */
export function messageBytes(m: Message): number {
  const len = (v: unknown) =>
    v === undefined || v === null
      ? 0
      : Buffer.isBuffer(v)
        ? v.length
        : Buffer.byteLength(String(v));
  let n = 128 + len(m.key) + len(m.value);
  for (const [k, v] of Object.entries(m.headers ?? {}))
    for (const x of Array.isArray(v) ? v : [v]) n += 12 + Buffer.byteLength(k) + len(x);
  return n;
}

/** Consecutive runs of rows whose summed size fits the smallest limit among them. */
export function chunksOf<T extends { bytes: number; limit: number }>(ready: T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  let limit = Number.POSITIVE_INFINITY;
  for (const item of ready) {
    const nextLimit = Math.min(limit, item.limit);
    if (chunk.length > 0 && bytes + item.bytes > nextLimit) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
      limit = item.limit;
    } else limit = nextLimit;
    chunk.push(item);
    bytes += item.bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** True for the broker's "too large" refusals (kafkajs surfaces them in several wrappers). */
export function isTooLarge(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { type?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  if (typeof e.message === 'string' && /too large|MESSAGE_TOO_LARGE/i.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isTooLarge(x, depth + 1))) return true;
  return isTooLarge(e.cause, depth + 1);
}
