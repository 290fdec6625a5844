import { ConfigError } from '../errors';
import { parseDecimalAmount } from '../money/decimal-amount';
import { currencyExponent, REGIONS } from '../money/regions';

/**
 * The bounds an upload is checked against before anything of it is booked
 * (services/uploads/upload-checks.ts). An upload past any of them waits for an operator's
 * confirmation; these never reject a row.
 *
 *   - sellerFactor (STS_UPLOAD_SELLER_FACTOR, 10): a seller's net total in the file, in magnitude,
 *     above this many times its largest cycle balance of the history window; 0 turns it off.
 *   - rowFactor (STS_UPLOAD_ROW_FACTOR, 20): one row's amount, in magnitude, above this many times
 *     the seller's typical item (its largest per-cycle mean item of the window); 0 turns it off.
 *   - historyCycles (STS_UPLOAD_HISTORY_CYCLES, 8): how many weekly cycles back the history reaches,
 *     the current one included.
 *   - maxSellers (STS_UPLOAD_MAX_SELLERS, 50,000): sellers one file may touch. It also bounds the
 *     memory of the check: past it, no further seller is tallied (the upload is held anyway).
 *   - maxTotalMinor (STS_UPLOAD_MAX_TOTAL): per currency, the money one file may move, the sum of its
 *     rows' magnitudes (a +1,000 and a -1,000 row move 2,000), in minor units; 0 turns it off for
 *     that currency.
 */
export interface UploadCheckBounds {
  readonly sellerFactor: bigint;
  readonly rowFactor: bigint;
  readonly historyCycles: number;
  readonly maxSellers: number;
  readonly maxTotalMinor: ReadonlyMap<string, bigint>;
}

/**
 * About USD 5 million in each region's currency, rounded to a figure a person reads at a glance:
 * an ordinary adjustment file moves far less, and a file moving more deserves a second look.
 * Major units.
 */
export const DEFAULT_MAX_TOTAL_MAJOR: Readonly<Record<string, string>> = Object.freeze({
  SGD: '5000000',
  MYR: '20000000',
  THB: '150000000',
  VND: '100000000000',
  IDR: '75000000000',
  PHP: '250000000',
  TWD: '150000000',
  BRL: '25000000',
});

export const DEFAULT_UPLOAD_CHECK_BOUNDS: UploadCheckBounds = Object.freeze({
  sellerFactor: 10n,
  rowFactor: 20n,
  historyCycles: 8,
  maxSellers: 50_000,
  maxTotalMinor: parseUploadMaxTotal(''),
});

/**
 * Parses STS_UPLOAD_MAX_TOTAL, `CUR:amount,CUR:amount` in major units (`SGD:2000000,VND:0`), over
 * the defaults: a currency not named keeps its default, 0 turns the bound off for that currency.
 * Throws ConfigError saying which entry is wrong and how to write it.
 */
export function parseUploadMaxTotal(text: string): ReadonlyMap<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [currency, major] of Object.entries(DEFAULT_MAX_TOTAL_MAJOR)) out.set(currency, toMinor(currency, major));
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{3}):(.+)$/.exec(entry);
    if (!m) throw totalError(`"${entry}" is not CUR:amount`);
    const currency = m[1]!.toUpperCase();
    if (currencyExponent(currency) === undefined) throw totalError(`${currency} is not a currency the marketplace settles (${Object.values(REGIONS).map((r) => r.currency).join(', ')})`);
    out.set(currency, toMinor(currency, m[2]!));
  }
  return out;
}

function toMinor(currency: string, major: string): bigint {
  const parsed = parseDecimalAmount(major, currencyExponent(currency)!);
  if (!parsed.ok) throw totalError(`${currency}: ${parsed.message}`);
  if (parsed.minor < 0n) throw totalError(`${currency}: the bound must be 0 (off) or positive`);
  return parsed.minor;
}

function totalError(detail: string): ConfigError {
  return new ConfigError(`STS_UPLOAD_MAX_TOTAL is invalid: ${detail}`, 'write it as CUR:amount in major units, comma-separated, e.g. SGD:2000000,VND:50000000000 (0 turns a currency off)');
}
