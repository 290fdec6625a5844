/**
 * Regions the marketplace settles, each with its one settlement currency and the time zone its
 * weekly cycle cutoff (Monday 00:00 local) is measured in. Exponents follow ISO 4217: VND has no
 * minor unit, so "100.5" VND is invalid while "12.30" SGD is 1230 minor units.
 */
export interface RegionInfo {
  region: string;
  currency: string;
  /** ISO 4217 minor-unit exponent of the currency. */
  exponent: number;
  timeZone: string;
}

export const REGIONS: Readonly<Record<string, RegionInfo>> = Object.freeze({
  SG: { region: 'SG', currency: 'SGD', exponent: 2, timeZone: 'Asia/Singapore' },
  MY: { region: 'MY', currency: 'MYR', exponent: 2, timeZone: 'Asia/Kuala_Lumpur' },
  TH: { region: 'TH', currency: 'THB', exponent: 2, timeZone: 'Asia/Bangkok' },
  VN: { region: 'VN', currency: 'VND', exponent: 0, timeZone: 'Asia/Ho_Chi_Minh' },
  ID: { region: 'ID', currency: 'IDR', exponent: 2, timeZone: 'Asia/Jakarta' },
  PH: { region: 'PH', currency: 'PHP', exponent: 2, timeZone: 'Asia/Manila' },
  TW: { region: 'TW', currency: 'TWD', exponent: 2, timeZone: 'Asia/Taipei' },
  BR: { region: 'BR', currency: 'BRL', exponent: 2, timeZone: 'America/Sao_Paulo' },
});

export function regionInfo(region: string): RegionInfo | undefined {
  return Object.prototype.hasOwnProperty.call(REGIONS, region) ? REGIONS[region] : undefined;
}

const EXPONENTS: ReadonlyMap<string, number> = new Map(Object.values(REGIONS).map((r) => [r.currency, r.exponent]));

/** ISO 4217 exponent of a currency the marketplace settles in; undefined for any other. */
export function currencyExponent(currency: string): number | undefined {
  return EXPONENTS.get(currency);
}
