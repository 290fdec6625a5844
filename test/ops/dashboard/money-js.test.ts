import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../../../runtime/config';
import { formatMoney } from '../../../runtime/money/money-text';
import { REGIONS } from '../../../runtime/money/regions';

/**
 * The dashboard's money.js is the browser's copy of formatMoney (a page cannot import TypeScript):
 * loaded as the page loads it, a classic script setting window.StsMoney, it must print every amount
 * exactly as the CLI and the recon details do, and know exactly the currencies REGIONS settles in.
 */
interface StsMoney {
  format(minor: string, currency: string): string;
  regionCurrency(region: string): string | undefined;
  exponents: Record<string, number>;
  regionCurrencies: Record<string, string>;
}

function loadMoneyJs(): StsMoney {
  const file = path.join(PROJECT_ROOT, 'ops', 'dashboard', 'money.js');
  const window: { StsMoney?: StsMoney } = {};
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), { window }, { filename: file });
  return window.StsMoney!;
}

const money = loadMoneyJs();
const CURRENCIES = Object.values(REGIONS).map((r) => r.currency);
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

test('its exponent table holds exactly the currencies REGIONS settles in, with their exponents', () => {
  expect({ ...money.exponents }).toEqual(Object.fromEntries(Object.values(REGIONS).map((r) => [r.currency, r.exponent])));
  expect({ ...money.regionCurrencies }).toEqual(Object.fromEntries(Object.values(REGIONS).map((r) => [r.region, r.currency])));
});

test('formats any int64 of minor units exactly as formatMoney, in every currency', () => {
  fc.assert(
    fc.property(fc.bigInt(INT64), fc.constantFrom(...CURRENCIES), (minor, currency) => {
      expect(money.format(minor.toString(), currency)).toBe(formatMoney(minor, currency));
    }),
    { numRuns: 2000 },
  );
});

test('formats the edges of every currency exactly as formatMoney', () => {
  const edges = [0n, 1n, -1n, 9n, 99n, 100n, 999n, 1000n, -1000n, 123456n, 2n ** 63n - 1n, -(2n ** 63n), 999999999999999999n];
  for (const currency of CURRENCIES) {
    for (const minor of edges) expect(money.format(minor.toString(), currency)).toBe(formatMoney(minor, currency));
  }
  expect(money.format('235379', 'SGD')).toBe('SGD 2,353.79');
  expect(money.format('15000', 'VND')).toBe('VND 15,000');
});

test('a currency it does not know is shown in minor units and says so, as formatMoney does', () => {
  expect(money.format('1234', 'XXX')).toBe(formatMoney(1234n, 'XXX'));
  expect(money.format('12.5', 'SGD')).toBe('SGD 12.5 (minor units)');
  expect(money.format('', 'SGD')).toBe('—');
});
