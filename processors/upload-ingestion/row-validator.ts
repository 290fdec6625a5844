import { asciiCodeUpper, codePointName, idCharProblemAt, quoteForReason, textCharProblemAt } from '../../runtime/edge-text';
import { parseDecimalAmount } from '../../runtime/money/decimal-amount';
import { itemAmountProblem } from '../../runtime/money/money-bounds';
import { regionInfo } from '../../runtime/money/regions';
import { EXTERNAL_REF_MAX_CHARS, ITEM_TYPES, MEMO_MAX_CHARS } from '../../contracts/upload-file';

/**
 * One row against the contract. A row is accepted only whole; the first problem found is its
 * reason. Reason codes are stable: ops filter the rejects CSV by them.
 */
export type RejectCode =
  | 'CSV_MALFORMED'
  | 'COLUMN_COUNT'
  | 'MISSING_FIELD'
  | 'INVALID_ID'
  | 'UNKNOWN_REGION'
  | 'CURRENCY_MISMATCH'
  | 'INVALID_AMOUNT'
  | 'TOO_MANY_DECIMALS'
  | 'ZERO_AMOUNT'
  | 'AMOUNT_OUT_OF_BOUNDS'
  | 'BALANCE_LIMIT'
  | 'UNKNOWN_ITEM_TYPE'
  | 'MEMO_TOO_LONG'
  | 'REF_TOO_LONG'
  | 'CONTROL_CHARACTER'
  | 'INVALID_ENCODING'
  | 'ROW_TOO_LARGE'
  | 'UNCLOSED_QUOTE'
  | 'CONFLICT'
  | 'SELLER_MISMATCH';

export interface ValidRow {
  externalRef: string;
  shopUserId: bigint;
  region: string;
  currency: string;
  amountMinor: bigint;
  itemType: string;
  orderId: bigint | null;
  memo: string | null;
}

export type RowVerdict = { ok: true; row: ValidRow } | { ok: false; code: RejectCode; message: string };

const ID = /^\d{1,19}$/;
const INT64_MAX = 9223372036854775807n;

export function validateRow(columns: string[], fields: string[]): RowVerdict {
  return rowValidator(columns)(fields);
}

/**
 * The validator for one header: column positions are looked up once per chunk, not once per
 * field of every row.
 */
export function rowValidator(columns: string[]): (fields: string[]) => RowVerdict {
  const at = (name: string) => columns.indexOf(name);
  const required = ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type'] as const;
  const requiredAt = required.map(at);
  const orderAt = at('order_id');
  const memoAt = at('memo');
  const get = (fields: string[], i: number): string => (i < 0 ? '' : fields[i]!.trim());
  // Read once per chunk: under tsx each read of an imported binding is a getter call, and these
  // are read for every row.
  const refMax = EXTERNAL_REF_MAX_CHARS;
  const memoMax = MEMO_MAX_CHARS;
  const itemTypes = ITEM_TYPES;

  return (fields) => {
    if (fields.length !== columns.length) {
      return reject('COLUMN_COUNT', `the row has ${fields.length} fields; the header has ${columns.length}`);
    }
    // Each field is trimmed once; the first missing one, in contract order, is the reason.
    const values = requiredAt.map((i) => get(fields, i));
    const missing = values.indexOf('');
    if (missing >= 0) return reject('MISSING_FIELD', `${required[missing]} is required`);
    const [externalRef, sellerText, regionText, currencyText, amountText, typeText] = values as [string, string, string, string, string, string];
    if (codePoints(externalRef) > refMax) return reject('REF_TOO_LONG', `external_ref is longer than ${refMax} characters`);
    const badRef = idCharProblemAt(externalRef);
    if (badRef >= 0) return reject('CONTROL_CHARACTER', `external_ref holds ${codePointName(externalRef, badRef)} at character ${badRef + 1}; control, format and line-separator characters are not allowed in a ref`);

    const shopUserId = parseId(sellerText);
    if (shopUserId === null) return reject('INVALID_ID', `shop_user_id "${clip(sellerText)}" is not a positive 64-bit integer`);
    const orderText = get(fields, orderAt);
    const orderId = orderText === '' ? null : parseId(orderText);
    if (orderText !== '' && orderId === null) return reject('INVALID_ID', `order_id "${clip(orderText)}" is not a positive 64-bit integer`);

    // Codes are ASCII: only a-z is folded to A-Z, so a look-alike such as "ſg" (U+017F, which
    // toUpperCase turns into "SG") is an unknown region, not SG.
    const region = asciiCodeUpper(regionText);
    const info = region === null ? undefined : regionInfo(region);
    if (!info) return reject('UNKNOWN_REGION', `region "${clip(regionText)}" is not one the marketplace settles (SG, MY, TH, VN, ID, PH, TW, BR, in ASCII letters)`);
    const currency = asciiCodeUpper(currencyText);
    if (currency !== info.currency) return reject('CURRENCY_MISMATCH', `currency "${clip(currencyText)}" does not belong to region ${info.region} (${info.currency})`);

    const amount = parseDecimalAmount(amountText, info.exponent);
    if (!amount.ok) return reject(amount.problem === 'TOO_MANY_DECIMALS' ? 'TOO_MANY_DECIMALS' : 'INVALID_AMOUNT', amount.message);
    if (amount.minor === 0n) return reject('ZERO_AMOUNT', 'amount must be non-zero');
    const bound = itemAmountProblem(info.currency, amount.minor);
    if (bound) return reject('AMOUNT_OUT_OF_BOUNDS', bound);

    const itemType = asciiCodeUpper(typeText);
    if (itemType === null || !itemTypes.has(itemType)) return reject('UNKNOWN_ITEM_TYPE', `item_type "${clip(typeText)}" is not one of ${[...itemTypes].join(', ')}`);

    const memo = memoAt < 0 || fields[memoAt] === '' ? null : fields[memoAt]!;
    if (memo !== null && codePoints(memo) > memoMax) return reject('MEMO_TOO_LONG', `memo is longer than ${memoMax} characters`);
    const badMemo = memo === null ? -1 : textCharProblemAt(memo);
    if (badMemo >= 0) return reject('CONTROL_CHARACTER', `memo holds ${codePointName(memo!, badMemo)} at character ${badMemo + 1}; a memo may hold tabs and line breaks but no other control character`);

    return { ok: true, row: { externalRef, shopUserId, region: info.region, currency, amountMinor: amount.minor, itemType, orderId, memo } };
  };
}

/** Characters as a person counts them (code points); a string is never longer than its UTF-16 length. */
function codePoints(s: string): number {
  return s.length <= SHORTER_LIMIT ? s.length : [...s].length;
}
const SHORTER_LIMIT = Math.min(EXTERNAL_REF_MAX_CHARS, MEMO_MAX_CHARS);

/** Decimal digits only, 1 to 2^63-1: an id is never rounded, signed or written in exponent form. */
function parseId(text: string): bigint | null {
  if (!ID.test(text)) return null;
  const id = BigInt(text);
  return id > 0n && id <= INT64_MAX ? id : null;
}

const reject = (code: RejectCode, message: string): RowVerdict => ({ ok: false, code, message });
// Quoted values are clipped and show invisible characters as \uXXXX, so a reason is one clean line.
const clip = (s: string) => quoteForReason(s);
