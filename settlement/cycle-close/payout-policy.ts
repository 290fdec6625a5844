import type { PayeeAccount } from '../../runtime/payees/payee-registry';

/**
 * Which balance becomes which payout. A net at or below zero, or below the currency's minimum
 * transfer, is CARRIED_FORWARD into the next cycle instead of paid (a bank transfer of a few cents
 * costs more than it moves). A payout that must not go out yet is ON_HOLD with its reason: it
 * exists, nothing is sent, and an operator releases or cancels it (services/payouts/).
 *
 *   CARRY_LIMIT       carrying the debt forward would take the next balance past int64
 *   SELLER_HOLD       the seller is on hold (seller_hold)
 *   NO_PAYEE_ACCOUNT  no payee account is registered for the seller and currency
 *   PAYEE_CHANGED     the account replaced an earlier one within the cool-off
 *                     (STS_PAYEE_COOLOFF_HOURS): a changed bank account is the usual way a
 *                     seller's money is stolen, so a person looks before it is paid
 */
export type PayoutStatusAtClose = 'PENDING' | 'ON_HOLD' | 'CARRIED_FORWARD';

export const HOLD_REASONS = ['CARRY_LIMIT', 'SELLER_HOLD', 'NO_PAYEE_ACCOUNT', 'PAYEE_CHANGED'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

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

export interface PayoutFacts {
  net: bigint;
  currency: string;
  sellerHeld: boolean;
  carryUnsafe: boolean;
  /** The seller's current payee account for the currency, if any. */
  payee: PayeeAccount | undefined;
  /** Accounts created after this instant are inside the cool-off. */
  cooloffStart: Date;
}

export interface PayoutDecision {
  status: PayoutStatusAtClose;
  holdReason: HoldReason | null;
}

export function decidePayout(f: PayoutFacts): PayoutDecision {
  const hold = (holdReason: HoldReason): PayoutDecision => ({ status: 'ON_HOLD', holdReason });
  if (f.carryUnsafe) return hold('CARRY_LIMIT');
  if (f.sellerHeld) return hold('SELLER_HOLD');
  if (f.net <= 0n || f.net < (MIN_PAYOUT_MINOR[f.currency] ?? 1n)) return { status: 'CARRIED_FORWARD', holdReason: null };
  if (!f.payee) return hold('NO_PAYEE_ACCOUNT');
  if (f.payee.version > 1 && f.payee.createdAt > f.cooloffStart) return hold('PAYEE_CHANGED');
  return { status: 'PENDING', holdReason: null };
}
