import fc from 'fast-check';
import { parseDecimalAmount } from '../../../runtime/money/decimal-amount';
import { formatMoney, groupedMajor } from '../../../runtime/money/money-text';

test('shows major units with the currency exponent and grouping', () => {
  expect(formatMoney(235379n, 'SGD')).toBe('SGD 2,353.79');
  expect(formatMoney(15000n, 'VND')).toBe('VND 15,000');
  expect(formatMoney(-5n, 'MYR')).toBe('MYR -0.05');
  expect(formatMoney(0n, 'THB')).toBe('THB 0.00');
  expect(formatMoney(123456789012345678n, 'IDR')).toBe('IDR 1,234,567,890,123,456.78');
  expect(formatMoney(-999999999999999999n, 'VND')).toBe('VND -999,999,999,999,999,999');
});

test('a currency with no known exponent is shown in minor units and says so', () => {
  expect(formatMoney(1234n, 'XXX')).toBe('XXX 1234 (minor units)');
});

test('grouped major units read back to the same minor units for any amount the parser accepts (±(2^63 - 1))', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n - 1n), max: 2n ** 63n - 1n }), fc.constantFrom(0, 2, 3), (minor, exponent) => {
      const text = groupedMajor(minor, exponent);
      expect(text).toMatch(/^-?\d{1,3}(,\d{3})*(\.\d+)?$/);
      const parsed = parseDecimalAmount(text.replace(/,/g, ''), exponent);
      expect(parsed).toEqual({ ok: true, minor });
    }),
  );
});

test('-2^63 is shown, but never read back: its negation would not fit, so the parser keeps to ±(2^63 - 1)', () => {
  const text = groupedMajor(-(2n ** 63n), 2);
  expect(text).toBe('-92,233,720,368,547,758.08');
  expect(parseDecimalAmount(text.replace(/,/g, ''), 2)).toMatchObject({ ok: false, problem: 'OUT_OF_RANGE' });
  expect(parseDecimalAmount('-92233720368547758.07', 2)).toEqual({ ok: true, minor: -(2n ** 63n - 1n) });
});
