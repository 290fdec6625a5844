import { codePointLength } from '../edge-limits';
import { LedgerTextTooLongError } from '../errors';

/**
 * The text columns of billing_item, in characters (utf8mb4 code points), as migration 0001 sized
 * them. Checked before a write because strict mode does not cover everything: MariaDB and MySQL
 * cut trailing spaces past a VARCHAR's length with only a Note, in every SQL mode, so a ref of 128
 * characters plus a space was stored as another ref (and, where that one existed, the write
 * failed as a duplicate of a row the ledger could not find: a retry without end). LOAD DATA's
 * IGNORE turns every truncation into a warning too. The edges keep their inputs inside these
 * limits (runtime/edge-limits.ts); this is the last check, and it fails the whole write.
 */
export const BILLING_ITEM_TEXT_MAX = Object.freeze({ region: 2, currency: 3, itemType: 32, source: 16, sourceRef: 128, memo: 255 });

type TextFields = { [K in keyof typeof BILLING_ITEM_TEXT_MAX]?: string | null };

/** Throws STS_LEDGER_TEXT_TOO_LONG (not retriable) for the first value longer than its column. */
export function assertBillingItemsFit(items: readonly TextFields[]): void {
  for (const it of items) {
    for (const field of FIELDS) {
      const value = it[field];
      const max = BILLING_ITEM_TEXT_MAX[field];
      // UTF-16 length bounds the code points from above: the exact count only for long values.
      if (value == null || value.length <= max) continue;
      const length = codePointLength(value);
      if (length <= max) continue;
      throw new LedgerTextTooLongError(field, length, max, value);
    }
  }
}
const FIELDS = Object.keys(BILLING_ITEM_TEXT_MAX) as Array<keyof typeof BILLING_ITEM_TEXT_MAX>;
