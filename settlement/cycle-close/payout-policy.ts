/**
 * Which balance becomes which payout. A net at or below zero, or below the currency's minimum
 * transfer, is CARRIED_FORWARD into the next cycle instead of paid (a bank transfer of a few cents
 * costs more than it moves). A seller on hold gets ON_HOLD: the payout exists, nothing is sent.
 */
export type PayoutStatusAtClose = 'PENDING' | 'ON_HOLD' | 'CARRIED_FORWARD';

/** Minimum payout per currency, minor units. */
export const MIN_PAYOUT_MINOR: Readonly<Record<string, bigint>> = {
  SGD: 100n,
  MYR: 100n,
  THB: 2_000n,
  VND: 10_000n,
  IDR: 1_000_000n,
  PHP: 5_000n,
  TWD: 3_000n,
  BRL: 500n,
};

export function payoutStatusFor(net: bigint, currency: string, onHold: boolean): PayoutStatusAtClose {
  if (onHold) return 'ON_HOLD';
  if (net <= 0n || net < (MIN_PAYOUT_MINOR[currency] ?? 1n)) return 'CARRIED_FORWARD';
  return 'PENDING';
}
