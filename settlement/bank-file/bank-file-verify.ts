import { at, isoXmlParser, textOf as text } from '../../runtime/xml/iso-xml';
import { PAIN001_NAMESPACE } from '../payout-file/pain001-writer';
import { remittanceText, type BankFileHeader, type BankTransfer } from './bank-pain001';

/**
 * Reads a written bank file back with a validating XML parser and compares it with what the
 * database says it must hold, before any of its payouts is submitted: the MsgId, the counts and
 * control sums, and for every transaction in order its EndToEndId, amount and currency, payee
 * name, account, bank and country, and remittance text. A difference is a list of readable lines,
 * empty when the file is right. Files are at most a few thousand transfers, so the whole document
 * is parsed in memory.
 */
const parser = isoXmlParser(['CdtTrfTxInf', 'PmtInf']);

export function bankFileProblems(xml: string, h: BankFileHeader, transfers: readonly BankTransfer[], amountText: (minor: bigint) => string): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    return [`not well-formed XML: ${(err as Error).message}`];
  }
  const root = at(doc, 'Document');
  if (at(root, '@xmlns') !== PAIN001_NAMESPACE) problems.push(`namespace is not ${PAIN001_NAMESPACE}`);
  const grp = at(root, 'CstmrCdtTrfInitn', 'GrpHdr');
  const pmts = (at(root, 'CstmrCdtTrfInitn', 'PmtInf') as unknown[] | undefined) ?? [];
  const expect = (what: string, got: string | undefined, want: string) => {
    if (got !== want) problems.push(`${what} is ${got ?? 'missing'}, not ${want}`);
  };
  let ctrl = 0n;
  for (const t of transfers) ctrl += t.amountMinor;
  expect('MsgId', text(at(grp, 'MsgId')), h.msgId);
  expect('GrpHdr NbOfTxs', text(at(grp, 'NbOfTxs')), String(transfers.length));
  expect('GrpHdr CtrlSum', text(at(grp, 'CtrlSum')), amountText(ctrl));
  if (pmts.length !== 1) return [...problems, `${pmts.length} PmtInf elements, not 1`];
  const pmt = pmts[0];
  expect('PmtInf CtrlSum', text(at(pmt, 'CtrlSum')), amountText(ctrl));
  const txs = (at(pmt, 'CdtTrfTxInf') as unknown[] | undefined) ?? [];
  if (txs.length !== transfers.length) problems.push(`${txs.length} transactions, not ${transfers.length}`);
  transfers.forEach((t, i) => {
    const tx = txs[i];
    const where = `transaction ${i + 1} (payout ${t.payoutId})`;
    const p = t.payee;
    expect(`${where} EndToEndId`, text(at(tx, 'PmtId', 'EndToEndId')), t.payoutId.toString());
    expect(`${where} amount`, text(at(tx, 'Amt', 'InstdAmt')), amountText(t.amountMinor));
    expect(`${where} currency`, at(tx, 'Amt', 'InstdAmt', '@Ccy') as string | undefined, h.currency);
    expect(`${where} creditor name`, (text(at(tx, 'Cdtr', 'Nm'))), p.holderName);
    expect(`${where} creditor country`, text(at(tx, 'Cdtr', 'PstlAdr', 'Ctry')), p.country);
    const account = p.accountScheme === 'IBAN' ? text(at(tx, 'CdtrAcct', 'Id', 'IBAN')) : (text(at(tx, 'CdtrAcct', 'Id', 'Othr', 'Id')));
    expect(`${where} creditor account`, account, p.account);
    const bank = p.bankScheme === 'BIC' ? text(at(tx, 'CdtrAgt', 'FinInstnId', 'BICFI')) : (text(at(tx, 'CdtrAgt', 'FinInstnId', 'ClrSysMmbId', 'MmbId')));
    expect(`${where} creditor agent`, bank, p.bankId);
    expect(`${where} remittance`, text(at(tx, 'RmtInf', 'Ustrd')), remittanceText(t));
  });
  return problems;
}
