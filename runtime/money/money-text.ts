import { formatMinorAmount } from './decimal-amount';
import { currencyExponent } from './regions';

/**
 * Money as a person reads it: the currency code, then major units with the currency's own ISO 4217
 * exponent and thousands grouped: 235379n SGD is "SGD 2,353.79", 15000n VND is "VND 15,000".
 * Digits are worked on as text from the bigint, never through a float, so 18-digit amounts print
 * exactly. Programs get the minor-unit string instead (JSON): nothing here is meant to be parsed
 * back.
 */

/** "2,353.79" for 235379n at exponent 2; "-15,000" for -15000n at exponent 0. */
export function groupedMajor(minor: bigint, exponent: number): string {
  const plain = formatMinorAmount(minor, exponent);
  const negative = plain.startsWith('-');
  const unsigned = negative ? plain.slice(1) : plain;
  const point = unsigned.indexOf('.');
  const whole = point < 0 ? unsigned : unsigned.slice(0, point);
  const fraction = point < 0 ? '' : unsigned.slice(point);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${fraction}`;
}

/**
 * "SGD 2,353.79". A currency no region settles in has no known exponent: it is shown in minor
 * units and says so ("XXX 1234 (minor units)") rather than guessing where the point goes.
 */
export function formatMoney(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) return `${currency} ${minor.toString()} (minor units)`;
  return `${currency} ${groupedMajor(minor, exponent)}`;
}

/** As formatMoney, from the decimal string of minor units that JSON and database rows carry. */
export function formatMoneyText(minor: string | bigint | number, currency: string): string {
  // Numbers come from MySQL's SUM() over small test sets only; anything large arrives as a string.
  const value = typeof minor === 'bigint' ? minor : BigInt(minor);
  return formatMoney(value, currency);
}
