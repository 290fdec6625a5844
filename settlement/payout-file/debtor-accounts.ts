/**
 * The marketplace's paying account per region: the Dbtr, DbtrAcct and DbtrAgt of every pain.001
 * file for that region.
 *
 * These are constants, not configuration, on purpose: they are part of the file's bytes, so a
 * changed value must be a reviewed code change. It also changes every file regenerated after it,
 * and the writer refuses to replace an existing file with other bytes, so a changed account can
 * never silently rewrite a file that was already released.
 *
 * The values are placeholders in the right shapes (a name, an account id of at most 34
 * characters, an 11-character BIC); treasury replaces them with the real operating accounts
 * before the first live file.
 */
export interface DebtorAccount {
  /** Dbtr/Nm and GrpHdr/InitgPty/Nm (max 140 characters). */
  name: string;
  /** DbtrAcct/Id/Othr/Id (max 34 characters). */
  accountId: string;
  /** DbtrAgt/FinInstnId/BICFI. */
  bic: string;
}

export const DEBTOR_ACCOUNTS: Readonly<Record<string, DebtorAccount>> = Object.freeze({
  SG: {
    name: 'STS Marketplace Singapore',
    accountId: 'STS-SG-SETTLEMENT-0001',
    bic: 'STSXSGSGXXX',
  },
  MY: { name: 'STS Marketplace Malaysia', accountId: 'STS-MY-SETTLEMENT-0001', bic: 'STSXMYKLXXX' },
  TH: { name: 'STS Marketplace Thailand', accountId: 'STS-TH-SETTLEMENT-0001', bic: 'STSXTHBKXXX' },
  VN: { name: 'STS Marketplace Vietnam', accountId: 'STS-VN-SETTLEMENT-0001', bic: 'STSXVNVXXXX' },
  ID: {
    name: 'STS Marketplace Indonesia',
    accountId: 'STS-ID-SETTLEMENT-0001',
    bic: 'STSXIDJAXXX',
  },
  PH: {
    name: 'STS Marketplace Philippines',
    accountId: 'STS-PH-SETTLEMENT-0001',
    bic: 'STSXPHMMXXX',
  },
  TW: { name: 'STS Marketplace Taiwan', accountId: 'STS-TW-SETTLEMENT-0001', bic: 'STSXTWTPXXX' },
  BR: { name: 'STS Marketplace Brasil', accountId: 'STS-BR-SETTLEMENT-0001', bic: 'STSXBRSPXXX' },
});

export function debtorAccount(region: string): DebtorAccount | undefined {
  return Object.prototype.hasOwnProperty.call(DEBTOR_ACCOUNTS, region)
    ? DEBTOR_ACCOUNTS[region]
    : undefined;
}
