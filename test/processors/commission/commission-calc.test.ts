import {
  affiliateCredit,
  computeClawback,
  computeFee,
  mulDivHalfUp,
  type ChargeState,
} from '../../../processors/commission/commission-calc';

const rule = (rateBps: number, minMinor = 0n, maxMinor: bigint | null = null) => ({
  rateBps,
  minMinor,
  maxMinor,
});

describe('commission fee', () => {
  test('rounds half up to the minor unit, and exact halves go up', () => {
    expect(computeFee(123_457n, rule(500))).toBe(6173n); // 6172.85
    expect(computeFee(123_450n, rule(500))).toBe(6173n); // 6172.5, a half
    expect(computeFee(123_449n, rule(500))).toBe(6172n); // 6172.45
    expect(computeFee(1n, rule(5000))).toBe(1n); // 0.5
    expect(computeFee(1n, rule(4999))).toBe(0n); // 0.4999
  });

  test('clamps to the minimum and the maximum per order', () => {
    expect(computeFee(1_000n, rule(100, 50n, 500n))).toBe(50n); // 10, raised to the floor
    expect(computeFee(10_000_000n, rule(100, 50n, 500n))).toBe(500n); // 100000, cut to the cap
    expect(computeFee(30_000n, rule(100, 50n, 500n))).toBe(300n); // inside the range
    expect(computeFee(10_000_000n, rule(100, 50n, null))).toBe(100_000n); // no cap
  });

  test('0 bps charges only the minimum, 10000 bps the whole amount', () => {
    expect(computeFee(987_654n, rule(0))).toBe(0n);
    expect(computeFee(987_654n, rule(0, 25n))).toBe(25n);
    expect(computeFee(987_654n, rule(10_000))).toBe(987_654n);
  });

  test('VND has no minor unit: whole dong, rounded half up, on amounts far past 2^53', () => {
    expect(computeFee(1_234_567n, rule(250))).toBe(30_864n); // 30864.175
    expect(computeFee(1_234_580n, rule(250))).toBe(30_865n); // 30864.5
    // 9e18 dong would be 9e18 as a JS number only approximately; bigint keeps every digit.
    expect(computeFee(9_007_199_254_740_993n, rule(1))).toBe(900_719_925_474n); // ...474.0993
    expect(computeFee(9_223_372_036_854_775_807n, rule(10_000))).toBe(9_223_372_036_854_775_807n);
  });

  test('a negative amount is refused', () => {
    expect(() => computeFee(-1n, rule(100))).toThrow(/non-negative/);
  });

  test('the affiliate gets its share of the fee, rounded half up', () => {
    expect(affiliateCredit(250n, 10_000)).toBe(250n);
    expect(affiliateCredit(101n, 5_000)).toBe(51n); // 50.5
    expect(affiliateCredit(6173n, 0)).toBe(0n);
  });

  test('mulDivHalfUp is exact for odd divisors', () => {
    expect(mulDivHalfUp(100n, 1n, 3n)).toBe(33n);
    expect(mulDivHalfUp(100n, 2n, 3n)).toBe(67n);
    expect(mulDivHalfUp(1n, 1n, 2n)).toBe(1n);
  });
});

describe('commission clawback', () => {
  const charged = (over: Partial<ChargeState> = {}): ChargeState => ({
    orderAmountMinor: 1_001n,
    feeMinor: 100n,
    affiliateCreditMinor: 50n,
    refundedMinor: 0n,
    feeClawedBackMinor: 0n,
    affiliateClawedBackMinor: 0n,
    ...over,
  });

  /** Applies refunds one after the other, as the processor does, and returns each clawback. */
  function refunds(state: ChargeState, amounts: bigint[]) {
    const out = [];
    for (const amount of amounts) {
      const cb = computeClawback(state, amount);
      out.push([cb.feeMinor, cb.affiliateMinor]);
      state = {
        ...state,
        refundedMinor: cb.refundedAfterMinor,
        feeClawedBackMinor: state.feeClawedBackMinor + cb.feeMinor,
        affiliateClawedBackMinor: state.affiliateClawedBackMinor + cb.affiliateMinor,
      };
    }
    return { out, state };
  }

  test('a single refund returns fee * refund / order amount, rounded half up', () => {
    expect(computeClawback(charged(), 500n)).toEqual({
      feeMinor: 50n,
      affiliateMinor: 25n,
      refundedAfterMinor: 500n,
    }); // 49.95, 24.98
    expect(computeClawback(charged(), 1_001n)).toEqual({
      feeMinor: 100n,
      affiliateMinor: 50n,
      refundedAfterMinor: 1_001n,
    });
  });

  test('partial refunds that add up to the order return exactly the fee, without rounding drift', () => {
    const { out, state } = refunds(charged(), [333n, 333n, 335n]);
    expect(out).toEqual([
      [33n, 17n],
      [34n, 16n],
      [33n, 17n],
    ]);
    expect(state.feeClawedBackMinor).toBe(100n);
    expect(state.affiliateClawedBackMinor).toBe(50n);
  });

  test('refunds beyond the order amount never claw back more than was charged', () => {
    const { out, state } = refunds(charged(), [900n, 900n, 5n]);
    expect(out).toEqual([
      [90n, 45n],
      [10n, 5n],
      [0n, 0n],
    ]);
    expect(state.feeClawedBackMinor).toBe(100n);
    expect(state.refundedMinor).toBe(1_805n);
  });

  test('a clamped fee is returned in proportion to what was actually charged', () => {
    // 1% of 1000 would be 10, but the floor made it 500: half the order returns half of 500.
    expect(
      computeClawback(
        charged({ orderAmountMinor: 1_000n, feeMinor: 500n, affiliateCreditMinor: 0n }),
        500n,
      ).feeMinor,
    ).toBe(250n);
  });

  test('a non-positive refund is refused', () => {
    expect(() => computeClawback(charged(), 0n)).toThrow(/positive/);
  });
});
