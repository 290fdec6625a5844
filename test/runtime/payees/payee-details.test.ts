import { StsError } from '../../../runtime/errors';
import { checkPayeeDetails, ibanProblem, ibanWithCheckDigits } from '../../../runtime/payees/payee-details';

/** What a bank needs to pay an account, checked before it is stored. */
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(StsError);
    expect((err as StsError).code).toBe('STS_PAYEE_INVALID');
    return (err as StsError).message;
  }
  throw new Error('expected a refusal');
};

describe('payee details', () => {
  it('takes a plain account number and a BIC where the country uses no IBAN, defaulting the country to the region', () => {
    expect(checkPayeeDetails({ currency: 'SGD', holderName: '  Tan Ah Kow ', account: '0123-456789', bankId: 'dbsssgsg' })).toEqual({
      holderName: 'Tan Ah Kow',
      account: '0123-456789',
      accountScheme: 'OTHER',
      bankId: 'DBSSSGSG',
      bankScheme: 'BIC',
      country: 'SG',
    });
    expect(checkPayeeDetails({ currency: 'MYR', holderName: 'Siti', account: '5140 1234 5678', bankId: '7171' })).toMatchObject({ account: '514012345678', bankScheme: 'CLEARING', country: 'MY' });
  });

  it('needs an IBAN of the right country, length and check digits where the country uses IBANs', () => {
    expect(ibanProblem('DE89370400440532013000', 'DE')).toBeUndefined();
    expect(checkPayeeDetails({ currency: 'BRL', holderName: 'Joao', account: ibanWithCheckDigits('BR', '00360305000010000097312P1'.slice(0, 25)), bankId: 'BRASBRRJ' })).toMatchObject({ accountScheme: 'IBAN', country: 'BR' });
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'X', account: 'DE89 3704 0044 0532 0130 01', bankId: 'DEUTDEFF', country: 'DE' }))).toMatch(/check digits are wrong/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'X', account: '12345678', bankId: 'DEUTDEFF', country: 'DE' }))).toMatch(/not an IBAN/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'X', account: 'FR7630006000011234567890189', bankId: 'DEUTDEFF', country: 'DE' }))).toMatch(/an IBAN of FR, not of DE/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'X', account: 'DE8937040044053201300', bankId: 'DEUTDEFF', country: 'DE' }))).toMatch(/22 characters, this one 21/);
  });

  it('refuses what a bank cannot print or route: invisible characters, long names, odd accounts, banks and countries', () => {
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'Tan\u200bAh', account: '1', bankId: 'DBSSSGSG' }))).toMatch(/U\+200B/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'x'.repeat(141), account: '1', bankId: 'DBSSSGSG' }))).toMatch(/1 to 140/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'A', account: '12 34; DROP', bankId: 'DBSSSGSG' }))).toMatch(/1 to 34 letters/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'A', account: '1', bankId: 'DBS SG' }))).toMatch(/neither a BIC nor a clearing code/);
    expect(refusal(() => checkPayeeDetails({ currency: 'SGD', holderName: 'A', account: '1', bankId: 'DBSSSGSG', country: 'sg' }))).toMatch(/ISO 3166/);
    expect(refusal(() => checkPayeeDetails({ currency: 'EUR', holderName: 'A', account: '1', bankId: 'DBSSSGSG' }))).toMatch(/not settled in any region/);
  });
});
