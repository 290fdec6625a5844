/*
 * Money as a person reads it, in the browser: the currency code, then major units with the
 * currency's ISO 4217 exponent and thousands grouped ("SGD 2,353.79", "VND 15,000"). The API sends
 * amounts as decimal strings of minor units; they go through BigInt and text only, never a Number,
 * so 18-digit amounts print exactly. It prints what runtime/money/money-text.ts prints, and
 * test/ops/dashboard/money-js.test.ts holds the two (and these tables and REGIONS) together.
 *
 * Plain script, no modules (the page's CSP allows only files from /assets): it sets
 * window.StsMoney for every dashboard file loaded after it.
 */
(function () {
  'use strict';
  /* ISO 4217 exponents of the currencies the marketplace settles in (runtime/money/regions.ts). */
  const EXPONENTS = Object.freeze({ SGD: 2, MYR: 2, THB: 2, VND: 0, IDR: 2, PHP: 2, TWD: 2, BRL: 2 });
  /* Each region's one settlement currency, for rows that carry a region but no currency. */
  const REGION_CURRENCY = Object.freeze({ SG: 'SGD', MY: 'MYR', TH: 'THB', VN: 'VND', ID: 'IDR', PH: 'PHP', TW: 'TWD', BR: 'BRL' });

  const own = (table, key) => Object.prototype.hasOwnProperty.call(table, key);

  /* "2,353.79" for 235379n at exponent 2. */
  function groupedMajor(minor, exponent) {
    const negative = minor < 0n;
    const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
    const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
    const fraction = exponent === 0 ? '' : '.' + digits.slice(-exponent);
    return (negative ? '-' : '') + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + fraction;
  }

  /*
   * "SGD 2,353.79" from "235379" and "SGD". A currency with no known exponent is shown in minor
   * units and says so, rather than guessing where the point goes; so is text that is no whole
   * number of minor units, as it came. A missing amount is a dash.
   */
  function format(minorString, currency) {
    const text = minorString === null || minorString === undefined ? '' : String(minorString).trim();
    if (text === '') return '—';
    if (!/^-?\d+$/.test(text)) return currency + ' ' + text + ' (minor units)';
    const minor = BigInt(text);
    if (!own(EXPONENTS, currency)) return currency + ' ' + minor.toString() + ' (minor units)';
    return currency + ' ' + groupedMajor(minor, EXPONENTS[currency]);
  }

  /* The settlement currency of a region ("SG" is "SGD"); undefined for any other. */
  function regionCurrency(region) {
    return own(REGION_CURRENCY, region) ? REGION_CURRENCY[region] : undefined;
  }

  window.StsMoney = Object.freeze({ format, regionCurrency, exponents: EXPONENTS, regionCurrencies: REGION_CURRENCY });
})();
