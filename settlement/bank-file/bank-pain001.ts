import { PayoutFileInvalidError } from '../payout-file/payout-file-errors';
import type { PayeeDetails } from '../../runtime/payees/payee-details';
import { debtorAccount } from '../payout-file/debtor-accounts';
import { currencyExponent, documentHead, escapeXml, formatAmount } from '../payout-file/pain001-writer';

/**
 * The pain.001.001.09 a bank pays from: one per bank_file, every transaction naming its payee as
 * a bank needs it (Cdtr name and country, CdtrAcct as an IBAN or, where the country has none, an
 * Othr id, CdtrAgt as a BIC or a clearing-system member id with the bank's country), remittance
 * text naming the cycle and payout, and the marketplace's paying account as Dbtr, DbtrAcct and
 * DbtrAgt. EndToEndId is the payout id, which the bank's status reports quote back.
 *
 * Deterministic: every byte comes from the file's row and its payouts (CreDtTm is the row's
 * created_at, not the clock), so a file rewritten after a crash has the same bytes and SHA-256.
 */
export interface BankFileHeader {
  /** Max35Text, unique per file and environment; the bank refuses a second file with it. */
  msgId: string;
  region: string;
  currency: string;
  createdAt: Date;
}

export interface BankTransfer {
  payoutId: bigint;
  cycleId: bigint;
  amountMinor: bigint;
  payee: PayeeDetails;
}

export function renderBankFile(h: BankFileHeader, transfers: readonly BankTransfer[]): string {
  const context = { msgId: h.msgId, region: h.region };
  const debtor = debtorAccount(h.region);
  const exponent = currencyExponent(h.currency);
  if (!debtor || exponent === undefined) throw new PayoutFileInvalidError(`no paying account or exponent for ${h.region} ${h.currency}`, context);
  if (transfers.length === 0) throw new PayoutFileInvalidError('a bank file needs at least one transfer', context);
  let ctrl = 0n;
  for (const t of transfers) ctrl += t.amountMinor;
  const ctrlSum = formatAmount(ctrl, exponent, 'CtrlSum', context);
  const head = [
    ...documentHead({
      msgId: h.msgId,
      creDtTm: h.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      nbOfTxs: transfers.length,
      ctrlSum,
      reqdExctnDt: h.createdAt.toISOString().slice(0, 10),
      debtor,
      currency: h.currency,
    }),
    // Charges shared: each side pays its own bank, the usual choice for domestic payouts.
    '      <ChrgBr>SHAR</ChrgBr>',
  ];
  const body = transfers.map((t) => transaction(h, exponent, t));
  return `${[...head, ...body, '    </PmtInf>', '  </CstmrCdtTrfInitn>', '</Document>'].join('\n')}\n`;
}

/** The text a bank shows the seller: the cycle and the payout, at most 140 characters. */
export const remittanceText = (t: Pick<BankTransfer, 'payoutId' | 'cycleId'>) => `Marketplace payout ${t.payoutId} for cycle ${t.cycleId}`;

function transaction(h: BankFileHeader, exponent: number, t: BankTransfer): string {
  const p = t.payee;
  const amount = formatAmount(t.amountMinor, exponent, `payout ${t.payoutId} amount`, { payoutId: t.payoutId.toString() });
  const agent =
    p.bankScheme === 'BIC'
      ? [`            <BICFI>${escapeXml(p.bankId)}</BICFI>`]
      : ['            <ClrSysMmbId>', `              <MmbId>${escapeXml(p.bankId)}</MmbId>`, '            </ClrSysMmbId>', '            <PstlAdr>', `              <Ctry>${p.country}</Ctry>`, '            </PstlAdr>'];
  const account =
    p.accountScheme === 'IBAN'
      ? [`            <IBAN>${escapeXml(p.account)}</IBAN>`]
      : ['            <Othr>', `              <Id>${escapeXml(p.account)}</Id>`, '            </Othr>'];
  return [
    '      <CdtTrfTxInf>',
    '        <PmtId>',
    `          <EndToEndId>${t.payoutId}</EndToEndId>`,
    '        </PmtId>',
    '        <Amt>',
    `          <InstdAmt Ccy="${escapeXml(h.currency)}">${amount}</InstdAmt>`,
    '        </Amt>',
    '        <CdtrAgt>',
    '          <FinInstnId>',
    ...agent,
    '          </FinInstnId>',
    '        </CdtrAgt>',
    '        <Cdtr>',
    `          <Nm>${escapeXml(p.holderName)}</Nm>`,
    '          <PstlAdr>',
    `            <Ctry>${p.country}</Ctry>`,
    '          </PstlAdr>',
    '        </Cdtr>',
    '        <CdtrAcct>',
    '          <Id>',
    ...account,
    '          </Id>',
    '        </CdtrAcct>',
    '        <RmtInf>',
    `          <Ustrd>${escapeXml(remittanceText(t))}</Ustrd>`,
    '        </RmtInf>',
    '      </CdtTrfTxInf>',
  ].join('\n');
}
