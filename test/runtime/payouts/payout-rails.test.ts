import { loadConfig } from '../../../runtime/config';
import { parsePayoutRails } from '../../../runtime/payouts/payout-rails';

describe('STS_PAYOUT_RAILS', () => {
  it('gives every region a rail, the gateway unless named', () => {
    const rails = parsePayoutRails(' SG=bank-file , my=gateway');
    expect(rails.SG).toBe('bank-file');
    expect(rails.MY).toBe('gateway');
    expect(rails.BR).toBe('gateway');
    expect(Object.values(parsePayoutRails('')).every((r) => r === 'gateway')).toBe(true);
  });

  it('refuses a process start on a malformed value, saying what is wrong', () => {
    expect(() => parsePayoutRails('SG:bank-file')).toThrow(/not REGION=RAIL/);
    expect(() => parsePayoutRails('XX=gateway')).toThrow(/not a region/);
    expect(() => parsePayoutRails('SG=swift')).toThrow(/not a rail/);
    expect(() => parsePayoutRails('SG=gateway,SG=bank-file')).toThrow(/named twice/);
    expect(() => loadConfig({ STS_PAYOUT_RAILS: 'SG=swift' })).toThrow(/STS_PAYOUT_RAILS.*not a rail/);
    expect(loadConfig({ STS_PAYOUT_RAILS: 'SG=bank-file' }).payoutRails.SG).toBe('bank-file');
  });
});
