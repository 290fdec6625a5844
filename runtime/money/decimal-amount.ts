/**
 * Decimal text in major units to bigint minor units, by the currency's ISO 4217 exponent, with
 * string arithmetic only: "12.3" SGD is 1230n, "-0.01" is -1n. Anything a float would round is
 * refused instead ("12.345" SGD, "100.5" VND), and so is notation a spreadsheet produces but a
 * ledger must not guess at ("1e3", "1,000", "$5").
 */
export type AmountProblem = 'EMPTY' | 'NOT_A_DECIMAL' | 'TOO_MANY_DECIMALS' | 'OUT_OF_RANGE';

export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; problem: AmountProblem; message: string };

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;
/**
 * The range is symmetric, ±(2^63 - 1): BIGINT also holds -2^63, but its negation (a reversal, a
 * clawback, a payout return) would not fit, so no amount is read that could not be reversed.
 */
const INT64_MAX = 9223372036854775807n;

/** Surrounding spaces are ignored (" 7 " is 7); inner spaces are not. */
export function parseDecimalAmount(text: string, exponent: number): ParsedAmount {
  const s = text.trim();
  if (s === '') return { ok: false, problem: 'EMPTY', message: 'amount is empty' };
  const m = DECIMAL.exec(s);
  if (!m) return { ok: false, problem: 'NOT_A_DECIMAL', message: `amount "${clip(s)}" is not a plain decimal (digits, an optional sign and point; no exponent or separators)` };
  const [, sign, whole, frac = ''] = m;
  if (frac.length > exponent) {
    return {
      ok: false,
      problem: 'TOO_MANY_DECIMALS',
      message: exponent === 0 ? `amount "${s}" has decimals but the currency has no minor unit` : `amount "${s}" has ${frac.length} decimals; the currency allows ${exponent}`,
    };
  }
  const magnitude = BigInt(whole! + frac.padEnd(exponent, '0'));
  if (magnitude > INT64_MAX) return { ok: false, problem: 'OUT_OF_RANGE', message: `amount "${clip(s)}" does not fit a 64-bit minor-unit amount` };
  return { ok: true, minor: sign === '-' ? -magnitude : magnitude };
}

/** Minor units back to decimal text in major units: 1230n with exponent 2 is "12.30". */
export function formatMinorAmount(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${text}` : text;
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);
