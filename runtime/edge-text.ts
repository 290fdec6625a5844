/**
 * Character rules for the text fields that enter at the edges (order events, upload rows), shared
 * by both so an id or a code means the same thing whichever way it arrived.
 *
 * Codes (region, currency, item_type) are ASCII by contract. They are compared as ASCII and never
 * case-folded with String#toUpperCase, which maps Unicode look-alikes onto valid letters: 'ſ'
 * (U+017F) becomes 'S' and 'ı' (U+0131) becomes 'I', so "ſg" would have passed as SG.
 *
 * Identifiers (event_id, external_ref) and the category are keys and labels other systems read
 * back: a control, format or line-separator character in one is invisible on a screen and in a
 * log, makes two ids that look identical differ, and can end a line in a CSV or a log record. They
 * are refused rather than stripped, so the id stored is always the id sent.
 */

/**
 * Cc (C0, DEL, C1 controls, NUL included), Cf (zero-width and bidi controls, soft hyphen, a BOM
 * inside text), Cs (a lone surrogate: the text was not valid Unicode), Zl and Zp (U+2028/U+2029,
 * line breaks to JavaScript and many log viewers).
 */
const ID_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * Free text (a memo) may span lines and hold emoji sequences (U+200D is Cf), but never NUL, the
 * other C0 controls, DEL, C1 controls or a lone surrogate.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\p{Cs}]/u;

/**
 * Printable ASCII holds none of the forbidden characters. Tested first because almost every value
 * is such text and this test is several times cheaper than a Unicode property class, which cost
 * upload ingestion most of a microsecond a row.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Where the first character an identifier may not hold is, or -1. */
export function idCharProblemAt(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return -1;
  const m = ID_FORBIDDEN.exec(text);
  return m ? m.index : -1;
}

/** Where the first character free text may not hold is, or -1. */
export function textCharProblemAt(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return -1;
  const m = TEXT_FORBIDDEN.exec(text);
  return m ? m.index : -1;
}

/** "U+0000"-style name of the code point at `index`, for a reason a person can act on. */
export function codePointName(text: string, index: number): string {
  const cp = text.codePointAt(index) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The code in upper case when it is made of ASCII letters, digits and '_' only; null otherwise.
 * Folding happens only after the ASCII check, so only a-z ever become A-Z. A loop rather than a
 * regex: it runs three times for every upload row, and an upper-case code comes back as it is.
 */
export function asciiCodeUpper(text: string): string | null {
  if (text.length === 0) return null;
  let lower = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) lower = true;
    else if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f)) return null;
  }
  return lower ? text.toUpperCase() : text;
}

/** Text safe to quote in a reason: at most `max` UTF-16 units, controls shown as \uXXXX. */
export function quoteForReason(text: string, max = 40): string {
  const clipped = text.length > max ? `${text.slice(0, max)}…` : text;
  return clipped.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
