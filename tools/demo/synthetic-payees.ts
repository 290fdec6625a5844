import type { Knex } from '../../runtime/db/knex';
import { ibanWithCheckDigits, regionOfCurrency, usesIban, type PayeeInput } from '../../runtime/payees/payee-details';
import { setPayees } from '../../runtime/payees/payee-registry';
import { AFFILIATE_BASE, AFFILIATES, SELLER_BASE } from '../orders/synthetic-orders';

/**
 * Payee accounts for synthetic sellers (the demo, the chaos run, benchmarks, tests): a holder name,
 * an account number derived from the seller id (an IBAN with valid check digits where the
 * country uses IBANs), and a real bank's BIC for the region. Deterministic, so a rerun registers
 * the same details and changes nothing.
 */
const BANK_BY_REGION: Readonly<Record<string, string>> = {
  SG: 'DBSSSGSG',
  MY: 'MBBEMYKL',
  TH: 'BKKBTHBK',
  VN: 'BFTVVNVX',
  ID: 'CENAIDJA',
  PH: 'BOPIPHMM',
  TW: 'BKTWTWTP',
  BR: 'BRASBRRJ',
};

export function syntheticPayee(seller: bigint, currency: string, account?: string): PayeeInput {
  const country = regionOfCurrency(currency) ?? 'SG';
  const digits = seller.toString().padStart(18, '0');
  // Brazil's BBAN: bank (8), branch (5), account (10), type and holder (2).
  const generated = usesIban(country) ? ibanWithCheckDigits(country, `00000000${digits.slice(-5)}${digits.slice(-10)}C1`) : `${digits.slice(-12)}`;
  return { currency, holderName: `Seller ${seller}`, account: account ?? generated, bankId: BANK_BY_REGION[country] ?? 'DBSSSGSG', country };
}

/** Registers every seller's synthetic account for the currency, as `changedBy`. */
export async function registerSyntheticPayees(db: Knex, sellers: Iterable<bigint>, currency: string, changedBy: string): Promise<number> {
  const entries = [...new Set(sellers)].map((s) => ({ shopUserId: s, payee: syntheticPayee(s, currency) }));
  for (let i = 0; i < entries.length; i += 5000) await setPayees(db, entries.slice(i, i + 5000), changedBy);
  return entries.length;
}

/**
 * The sellers synthetic order streams of `sellers` sellers book money for (tools/orders): the
 * sellers themselves and the affiliates who earn commission. The demo, the chaos run and the
 * benchmarks register a payee account for each, in every region they run, before they close.
 * `accountOf` may give a seller another account number (the chaos run's closed accounts).
 */
export async function registerStreamPayees(db: Knex, currencies: Iterable<string>, sellers: number, changedBy: string, accountOf: (seller: bigint) => string | undefined = () => undefined): Promise<number> {
  const ids = [...Array.from({ length: sellers }, (_, i) => SELLER_BASE + BigInt(i)), ...Array.from({ length: AFFILIATES }, (_, i) => AFFILIATE_BASE + BigInt(i))];
  let n = 0;
  for (const currency of currencies) {
    const entries = ids.map((s) => ({ shopUserId: s, payee: syntheticPayee(s, currency, accountOf(s)) }));
    for (let i = 0; i < entries.length; i += 5000) await setPayees(db, entries.slice(i, i + 5000), changedBy);
    n += entries.length;
  }
  return n;
}
