import { ConfigError } from '../errors';

/**
 * The largest amounts the system accepts, per currency, in minor units. Every sum the pipeline
 * forms has to stay representable: a seller's running balance and payout in a signed BIGINT, and a
 * payout file's amounts and control sums in the 18 digits ISO 20022 allows
 * (ActiveOrHistoricCurrencyAndAmount and DecimalNumber have totalDigits 18). The bounds make that
 * true by construction, at the edge, one item at a time:
 *   - an item (order event, upload row, commission line) is at most `maxItemMinor` in magnitude;
 *   - a seller's balance in a cycle, and so its payout, stays within `maxPayoutMinor`: an item that
 *     would push it past is refused, not the batch around it;
 *   - a payout file's control sum is kept under PAIN001_MAX_MINOR by the file writer, which starts
 *     a new file before the sum would pass it; with payouts bounded, that is always possible.
 * The defaults admit 9,007,199,254,740,993 (past 2^53) as one amount, so exactness beyond a JS
 * number's safe integers stays exercised.
 *
 * Configured by STS_MONEY_BOUNDS, e.g. `SGD:item=100000000,payout=1000000000;VND:item=5000000000`
 * (a currency not named keeps the defaults; a part not named keeps its default).
 */
export interface MoneyBounds {
  /** Largest magnitude of one item, minor units. */
  readonly maxItemMinor: bigint;
  /** Largest magnitude of one seller's balance in a cycle, and so of a payout, minor units. */
  readonly maxPayoutMinor: bigint;
}

/** 18 nines: the largest amount or control sum a pain.001 field holds, in minor units. */
export const PAIN001_MAX_MINOR = 10n ** 18n - 1n;
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * A balance below the currency's minimum payout is carried into the next cycle as a mandatory item
 * (never refused: it is money owed), so a balance at the payout bound can exceed it by less than
 * that minimum, once per carry-in. The largest minimum payout is 1,000,000 (IDR); 10^9 of room
 * covers hundreds of such carries, and a payout then always fits the 18 digits of pain.001.
 */
export const MAX_CONFIGURABLE_PAYOUT_MINOR = PAIN001_MAX_MINOR - 10n ** 9n;

export const DEFAULT_MONEY_BOUNDS: MoneyBounds = Object.freeze({
  maxItemMinor: 10n ** 16n - 1n,
  maxPayoutMinor: 10n ** 17n - 1n,
});

const BOUND = /^(item|payout)=(\d{1,19})$/;

/** Parses STS_MONEY_BOUNDS; throws ConfigError with the fix for a malformed or unsafe value. */
export function parseMoneyBounds(text: string): ReadonlyMap<string, MoneyBounds> {
  const out = new Map<string, MoneyBounds>();
  for (const entry of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const [currency, parts = ''] = entry.split(':', 2) as [string, string?];
    if (!/^[A-Z]{3}$/.test(currency)) throw boundsError(`"${currency}" is not a three-letter ISO 4217 code`);
    let bounds: { maxItemMinor: bigint; maxPayoutMinor: bigint } = { ...DEFAULT_MONEY_BOUNDS };
    for (const part of parts.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = BOUND.exec(part);
      if (!m) throw boundsError(`"${part}" in ${currency} is not item=N or payout=N`);
      const value = BigInt(m[2]!);
      if (value < 1n) throw boundsError(`${currency} ${m[1]} must be at least 1`);
      bounds = m[1] === 'item' ? { ...bounds, maxItemMinor: value } : { ...bounds, maxPayoutMinor: value };
    }
    if (bounds.maxItemMinor > bounds.maxPayoutMinor) throw boundsError(`${currency}: item (${bounds.maxItemMinor}) must not exceed payout (${bounds.maxPayoutMinor})`);
    // A file holds at least one payout, so a payout must fit the pain.001 amount and control sum,
    // with room for a positive carry-forward on top (see MAX_CONFIGURABLE_PAYOUT_MINOR).
    if (bounds.maxPayoutMinor > MAX_CONFIGURABLE_PAYOUT_MINOR) throw boundsError(`${currency}: payout (${bounds.maxPayoutMinor}) must be at most ${MAX_CONFIGURABLE_PAYOUT_MINOR}, the 18 digits of a pain.001 amount less room for a carried-forward balance`);
    out.set(currency, Object.freeze(bounds));
  }
  return out;
}

function boundsError(detail: string): ConfigError {
  return new ConfigError(`STS_MONEY_BOUNDS is invalid: ${detail}`, `write it as CUR:item=N,payout=N;CUR:...; with 1 <= item <= payout <= ${MAX_CONFIGURABLE_PAYOUT_MINOR} minor units`);
}

let configured: ReadonlyMap<string, MoneyBounds> | undefined;

/** The bounds of one currency, from STS_MONEY_BOUNDS (read once) or the defaults. */
export function moneyBounds(currency: string): MoneyBounds {
  configured ??= parseMoneyBounds(process.env.STS_MONEY_BOUNDS ?? '');
  return configured.get(currency) ?? DEFAULT_MONEY_BOUNDS;
}

/** For tests that change STS_MONEY_BOUNDS in-process. */
export function resetMoneyBoundsForTests(): void {
  configured = undefined;
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/** Null when `amountMinor` is an acceptable single item of `currency`; else why not. */
export function itemAmountProblem(currency: string, amountMinor: bigint): string | null {
  const { maxItemMinor } = moneyBounds(currency);
  if (abs(amountMinor) > maxItemMinor) return `amount ${amountMinor} minor units is beyond the ${currency} item bound of ${maxItemMinor}`;
  return null;
}

/** Null when a balance of `balanceMinor` is within the payout bound of `currency`; else why not. */
export function balanceProblem(currency: string, balanceMinor: bigint): string | null {
  const { maxPayoutMinor } = moneyBounds(currency);
  if (abs(balanceMinor) > maxPayoutMinor) return `the seller's balance would be ${balanceMinor} minor units, beyond the ${currency} payout bound of ${maxPayoutMinor}`;
  return null;
}
