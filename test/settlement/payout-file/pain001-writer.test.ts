import fs from 'node:fs';
import path from 'node:path';
import { StsError } from '../../../runtime/errors';
import {
  creationDateTime,
  escapeXml,
  renderPain001,
  type PayoutLine,
} from '../../../settlement/payout-file/pain001-writer';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

const SG = { region: 'SG', cycleId: 20261116n, currency: 'SGD' };
const VN = { region: 'VN', cycleId: 20261116n, currency: 'VND' };
const line = (key: typeof SG, id: bigint, shopUserId: bigint, amountMinor: bigint): PayoutLine => ({
  ...key,
  id,
  shopUserId,
  amountMinor,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StsError ? err.code : `not an StsError: ${String(err)}`;
  }
  return undefined;
}

describe('pain.001 writer', () => {
  it('renders the golden file byte for byte, whatever order the payouts come in', () => {
    const golden = fs.readFileSync(
      path.join(FIXTURES_DIR, 'payout-file', 'pain001-SG-20261116-SGD.xml'),
    );
    const payouts = [
      line(SG, 652024209997893699n, 652024209997893632n, 1n),
      line(SG, 652024209997893633n, 9007199254740993n, 123456789n),
      line(SG, 9223372036854775807n, 652024209997893632n, 100000n),
    ];
    expect(Buffer.from(renderPain001(SG, payouts), 'utf8')).toEqual(golden);
    expect(Buffer.from(renderPain001(SG, [...payouts].reverse()), 'utf8')).toEqual(golden);
  });

  it('keeps 18-digit ids and ids above 2^53 exactly, as EndToEndId and creditor account', () => {
    const xml = renderPain001(SG, [
      line(SG, 652024209997893633n, 9007199254740993n, 5n),
      line(SG, 9223372036854775807n, 652024209997893632n, 7n),
    ]);
    expect(xml).toContain('<EndToEndId>652024209997893633</EndToEndId>');
    expect(xml).toContain('<EndToEndId>9223372036854775807</EndToEndId>');
    expect(xml).toContain('<Id>9007199254740993</Id>');
    expect(xml).toContain('<Id>652024209997893632</Id>');
  });

  it('formats VND (exponent 0) with no decimal point, and SGD with two decimals', () => {
    const vnd = renderPain001(VN, [line(VN, 1n, 2n, 1500000n), line(VN, 3n, 4n, 7n)]);
    expect(vnd).toContain('<InstdAmt Ccy="VND">1500000</InstdAmt>');
    expect(vnd).toContain('<InstdAmt Ccy="VND">7</InstdAmt>');
    expect(vnd).toContain('<CtrlSum>1500007</CtrlSum>');
    const sgd = renderPain001(SG, [line(SG, 1n, 2n, 5n), line(SG, 3n, 4n, 100n)]);
    expect(sgd).toContain('<InstdAmt Ccy="SGD">0.05</InstdAmt>');
    expect(sgd).toContain('<InstdAmt Ccy="SGD">1.00</InstdAmt>');
    expect(sgd).toContain('<CtrlSum>1.05</CtrlSum>');
  });

  it('sums CtrlSum in bigint where a float would lose cents', () => {
    // 0.1 + 0.2 in floats is 0.30000000000000004; 2^53 + 1 cents is not a double at all.
    const xml = renderPain001(SG, [
      line(SG, 1n, 2n, 10n),
      line(SG, 3n, 4n, 20n),
      line(SG, 5n, 6n, 9007199254740993n),
    ]);
    expect(xml).toContain('<CtrlSum>90071992547410.23</CtrlSum>');
  });

  it('derives CreDtTm from the cycle cutoff, not the wall clock', () => {
    expect(creationDateTime('SG', 20261116n)).toBe('2026-11-22T16:00:00Z');
    expect(creationDateTime('BR', 20261228n)).toBe('2027-01-04T03:00:00Z');
    expect(renderPain001(VN, [line(VN, 1n, 2n, 3n)])).toContain(
      '<CreDtTm>2026-11-22T17:00:00Z</CreDtTm>',
    );
  });

  it('refuses zero and negative amounts with STS_PAYOUT_FILE_INVALID', () => {
    expect(codeOf(() => renderPain001(SG, [line(SG, 1n, 2n, 100n), line(SG, 3n, 4n, 0n)]))).toBe(
      'STS_PAYOUT_FILE_INVALID',
    );
    expect(codeOf(() => renderPain001(SG, [line(SG, 1n, 2n, 100n), line(SG, 3n, 4n, -1n)]))).toBe(
      'STS_PAYOUT_FILE_INVALID',
    );
  });

  it('refuses a payout of another region, cycle or currency, a repeated id, and an unknown currency', () => {
    expect(codeOf(() => renderPain001(SG, [line(VN, 1n, 2n, 100n)]))).toBe(
      'STS_PAYOUT_FILE_INVALID',
    );
    expect(
      codeOf(() => renderPain001(SG, [{ ...line(SG, 1n, 2n, 100n), cycleId: 20261123n }])),
    ).toBe('STS_PAYOUT_FILE_INVALID');
    expect(codeOf(() => renderPain001(SG, [line(SG, 1n, 2n, 100n), line(SG, 1n, 2n, 100n)]))).toBe(
      'STS_PAYOUT_FILE_INVALID',
    );
    expect(
      codeOf(() =>
        renderPain001({ ...SG, currency: 'XAU' }, [{ ...line(SG, 1n, 2n, 100n), currency: 'XAU' }]),
      ),
    ).toBe('STS_PAYOUT_FILE_INVALID');
    expect(
      codeOf(() =>
        renderPain001({ ...SG, cycleId: 20261117n }, [
          { ...line(SG, 1n, 2n, 100n), cycleId: 20261117n },
        ]),
      ),
    ).toBe('STS_PAYOUT_FILE_INVALID');
  });

  it('refuses amounts beyond the 18 digits ISO 20022 allows', () => {
    expect(codeOf(() => renderPain001(SG, [line(SG, 1n, 2n, 10n ** 18n)]))).toBe(
      'STS_PAYOUT_FILE_INVALID',
    );
    expect(renderPain001(SG, [line(SG, 1n, 2n, 10n ** 18n - 1n)])).toContain(
      '>9999999999999999.99<',
    );
  });

  it('escapes XML special characters', () => {
    expect(escapeXml(`a&b<c>"d'`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;');
  });
});
