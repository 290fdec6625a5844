/**
 * Length limits of the text fields upstream systems and ops hand us, enforced where the input
 * enters (order-event validation, upload row validation) so that nothing longer ever reaches a
 * column, an id derived from it, or one of our own events. Counted in Unicode code points; the
 * columns are utf8mb4, so a code point is at most 4 bytes.
 *
 * Ids the system derives from these (outbox event ids, commission request ids, billing-item
 * source refs) are built to fit their columns by construction, whatever the input's length.
 */
export const EDGE_LIMITS = Object.freeze({
  /** `event_id` of an order event: its idempotency key. */
  eventIdMaxChars: 128,
  /** `category` of an order event; it is copied into commission requests and rule lookups. */
  categoryMaxChars: 64,
  /** `external_ref` of an upload row: with the region, its idempotency key. */
  externalRefMaxChars: 128,
  /** `memo` of an upload row. */
  memoMaxChars: 255,
});

/** Code points, not UTF-16 units: "😀" is one character to a person and to utf8mb4. */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
