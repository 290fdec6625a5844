/**
 * The accounts of the payment ledger (one set per currency) and which account each TCC phase
 * debits and credits (docs/DESIGN.md, lesson 6).
 *
 *   SELLER_SETTLEMENT  liability: what the marketplace owes sellers and has not sent
 *   PAYOUT_IN_FLIGHT   liability: sent to the gateway, outcome not yet known
 *   BANK_CLEARING      asset side: money that left through the gateway (credit = paid out)
 *   SYSTEM             the counter-account that recognises what a closed cycle owes
 *
 *   ACCRUE   SYSTEM            -> SELLER_SETTLEMENT   the payout's amount becomes owed
 *   TRY      SELLER_SETTLEMENT -> PAYOUT_IN_FLIGHT    reserved before the gateway call
 *   CONFIRM  PAYOUT_IN_FLIGHT  -> BANK_CLEARING       the gateway executed it
 *   CANCEL   PAYOUT_IN_FLIGHT  -> SELLER_SETTLEMENT   the gateway refused it: owed again
 *   RETURN   SELLER_SETTLEMENT -> SYSTEM              a refused payout's amount went back into
 *                                                     the seller's balance (payout-return.ts),
 *                                                     from where a later payout accrues it again
 *
 * ("A -> B" debits A and credits B by the amount.) ACCRUE is written with TRY, in one
 * transaction, so the ledger never shows a reservation of money it does not owe. After every
 * payout reaches a final state PAYOUT_IN_FLIGHT nets to zero, and per currency the debits always
 * equal the credits, because every movement adds the same amount to both sides.
 */

export const LEDGER_ACCOUNTS = [
  'SELLER_SETTLEMENT',
  'PAYOUT_IN_FLIGHT',
  'BANK_CLEARING',
  'SYSTEM',
] as const;

export type LedgerAccount = (typeof LEDGER_ACCOUNTS)[number];

export type TccPhase = 'ACCRUE' | 'TRY' | 'CONFIRM' | 'CANCEL' | 'RETURN';

export const PHASE_POSTING: Readonly<
  Record<TccPhase, { debit: LedgerAccount; credit: LedgerAccount }>
> = {
  ACCRUE: { debit: 'SYSTEM', credit: 'SELLER_SETTLEMENT' },
  TRY: { debit: 'SELLER_SETTLEMENT', credit: 'PAYOUT_IN_FLIGHT' },
  CONFIRM: { debit: 'PAYOUT_IN_FLIGHT', credit: 'BANK_CLEARING' },
  CANCEL: { debit: 'PAYOUT_IN_FLIGHT', credit: 'SELLER_SETTLEMENT' },
  RETURN: { debit: 'SELLER_SETTLEMENT', credit: 'SYSTEM' },
};

/** tcc_state.state: TRIED until exactly one of CONFIRM or CANCEL resolves it. */
export type TccState = 'TRIED' | 'CONFIRMED' | 'CANCELLED';
