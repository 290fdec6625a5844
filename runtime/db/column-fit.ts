import { codePointLength } from '../edge-limits';
import { LedgerTextTooLongError } from './db-errors';

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
  for (const it of items) if (!shortEnough(it)) assertItemFits(it);
}

const { region: REGION, currency: CURRENCY, itemType: ITEM_TYPE, source: SOURCE, sourceRef: SOURCE_REF, memo: MEMO } = BILLING_ITEM_TEXT_MAX;

/**
 * Every value within its column by UTF-16 length, which bounds the code points from above. Named
 * property reads: a loop over the field names is a keyed load that V8 cannot specialise, and this
 * runs for every item written.
 */
function shortEnough(it: TextFields): boolean {
  return (
    (it.region == null || it.region.length <= REGION) &&
    (it.currency == null || it.currency.length <= CURRENCY) &&
    (it.itemType == null || it.itemType.length <= ITEM_TYPE) &&
    (it.source == null || it.source.length <= SOURCE) &&
    (it.sourceRef == null || it.sourceRef.length <= SOURCE_REF) &&
    (it.memo == null || it.memo.length <= MEMO)
  );
}

/** The exact check, in code points, for an item with a value longer than its column in UTF-16. */
function assertItemFits(it: TextFields): void {
  for (const field of FIELDS) {
    const value = it[field];
    const max = BILLING_ITEM_TEXT_MAX[field];
    if (value == null || value.length <= max) continue;
    const length = codePointLength(value);
    if (length <= max) continue;
    throw new LedgerTextTooLongError(field, length, max, value);
  }
}
const FIELDS = Object.keys(BILLING_ITEM_TEXT_MAX) as Array<keyof typeof BILLING_ITEM_TEXT_MAX>;
