import { PayeeInvalidError } from './payee-errors';
import { idCharProblemAt, codePointName } from '../edge-text';
import { REGIONS } from '../money/regions';

/**
 * What a payee account must hold for a bank or a payout provider to pay it, checked before it is
 * stored, so a payout is never made to an account a bank would bounce:
 *   - holder name: 1 to 140 characters (pain.001's Max140Text), no control or invisible characters;
 *   - account: in a country that uses IBANs, an IBAN of that country with its length and its
 *     ISO 7064 mod-97 check digits; elsewhere an account number of 1 to 34 letters, digits or '-'
 *     (pain.001's Othr/Id);
 *   - bank: a BIC (4 letters, the country, 2 characters, an optional branch of 3), or else a local
 *     clearing code of 1 to 35 letters and digits;
 *   - country: ISO 3166 alpha-2 of the account's bank, by default the region of the currency.
 */
export interface PayeeDetails {
  holderName: string;
  account: string;
  accountScheme: 'IBAN' | 'OTHER';
  bankId: string;
  bankScheme: 'BIC' | 'CLEARING';
  country: string;
}

export interface PayeeInput {
  currency: string;
  holderName: string;
  account: string;
  bankId: string;
  country?: string;
}

/** IBAN length per country that uses IBANs (ISO 13616 registry). */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27,
  GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27,
  MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25,
  QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23,
  TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

export const usesIban = (country: string): boolean => country in IBAN_LENGTH;

const BIC = /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
const CLEARING = /^[A-Za-z0-9]{1,35}$/;
const OTHER_ACCOUNT = /^[A-Za-z0-9-]{1,34}$/;

/** The currency's region, whose code is also the default country. */
export function regionOfCurrency(currency: string): string | undefined {
  return Object.values(REGIONS).find((r) => r.currency === currency)?.region;
}

export function checkPayeeDetails(input: PayeeInput): PayeeDetails {
  const bad = (message: string, fix: string): never => {
    throw new PayeeInvalidError(message, fix);
  };
  const region = regionOfCurrency(input.currency);
  if (!region) bad(`currency ${input.currency} is not settled in any region`, `use one of ${Object.values(REGIONS).map((r) => r.currency).join(', ')}`);
  const country = input.country ?? region!;
  if (!/^[A-Z]{2}$/.test(country)) bad(`country "${country}" is not an ISO 3166 alpha-2 code`, 'for example SG or DE');

  const holderName = input.holderName.trim();
  if (holderName.length === 0 || [...holderName].length > 140) bad('the holder name must have 1 to 140 characters', "give the name on the seller's bank account");
  const at = idCharProblemAt(holderName);
  if (at >= 0) bad(`the holder name holds ${codePointName(holderName, at)} at ${at}, which a bank cannot print`, 'remove control and invisible characters');

  const compact = input.account.replace(/[\s]/g, '');
  let account: string;
  let accountScheme: PayeeDetails['accountScheme'];
  if (usesIban(country)) {
    account = compact.toUpperCase();
    const problem = ibanProblem(account, country);
    if (problem) bad(`account ${input.account}: ${problem}`, `accounts at ${country} banks are IBANs of ${IBAN_LENGTH[country]} characters`);
    accountScheme = 'IBAN';
  } else {
    account = compact;
    if (!OTHER_ACCOUNT.test(account)) bad(`account "${input.account}" must be 1 to 34 letters, digits or '-'`, 'give the account number as the bank prints it');
    accountScheme = 'OTHER';
  }

  const bankId = input.bankId.trim();
  let bankScheme: PayeeDetails['bankScheme'];
  if (BIC.test(bankId.toUpperCase())) {
    bankScheme = 'BIC';
  } else if (CLEARING.test(bankId)) {
    bankScheme = 'CLEARING';
  } else {
    return bad(`bank "${input.bankId}" is neither a BIC nor a clearing code of 1 to 35 letters and digits`, 'for example DBSSSGSG, or the local bank code');
  }
  return { holderName, account, accountScheme, bankId: bankScheme === 'BIC' ? bankId.toUpperCase() : bankId, bankScheme, country };
}

/** The IBAN of a domestic account number (BBAN), its check digits computed. */
export function ibanWithCheckDigits(country: string, bban: string): string {
  const check = 98 - mod97(`${bban}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

/** Why a string is not an IBAN of the country, or undefined when it is one. */
export function ibanProblem(iban: string, country: string): string | undefined {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return 'not an IBAN (country code, two check digits, then letters and digits)';
  if (iban.slice(0, 2) !== country) return `an IBAN of ${iban.slice(0, 2)}, not of ${country}`;
  if (iban.length !== IBAN_LENGTH[country]) return `${country} IBANs have ${IBAN_LENGTH[country]} characters, this one ${iban.length}`;
  // ISO 7064 mod 97-10 over the IBAN with its first four characters moved to the end.
  return mod97(iban.slice(4) + iban.slice(0, 4)) === 1 ? undefined : 'its check digits are wrong (a typing error?)';
}

/** The remainder mod 97 of the number a string of digits and letters (A = 10 … Z = 35) spells. */
function mod97(text: string): number {
  let rest = 0;
  for (const ch of text) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rest = (rest * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rest;
}
