/**
 * The messages the bank simulator writes into the INBOUND folder, with elements in the order the
 * ISO 20022 XSDs require (checked by hand against pain.002.001.10.xsd and camt.054.001.08.xsd;
 * the XSDs themselves are ISO's and are not part of this repository):
 *
 * pain.002.001.10 CustomerPaymentStatusReport
 *   GrpHdr: MsgId, CreDtTm
 *   OrgnlGrpInfAndSts: OrgnlMsgId, OrgnlMsgNmId (pain.001.001.09), OrgnlNbOfTxs?, OrgnlCtrlSum?,
 *     GrpSts (ACCP | ACSC | PART | RJCT), StsRsnInf? (Rsn/Cd, AddtlInf) for a refused file
 *   OrgnlPmtInfAndSts (final reports of accepted files only): OrgnlPmtInfId, then per transaction
 *     TxInfAndSts: OrgnlEndToEndId, TxSts (ACSC | RJCT), StsRsnInf? (Rsn/Cd, AddtlInf),
 *     OrgnlTxRef/Amt/InstdAmt@Ccy
 *
 * camt.054.001.08 BankToCustomerDebitCreditNotification, one Ntry per executed transfer
 *   GrpHdr: MsgId, CreDtTm
 *   Ntfctn: Id, CreDtTm, Acct (Id/Othr/Id = the file's debtor account, Ccy), then per transfer
 *     Ntry: Amt@Ccy, CdtDbtInd DBIT, Sts/Cd BOOK, BookgDt/Dt, BkTxCd/Domn (PMNT / ICDT / DMCT),
 *       NtryDtls/TxDtls: Refs (MsgId = the pain.001's MsgId, PmtInfId, EndToEndId), Amt@Ccy,
 *       CdtDbtInd DBIT
 *
 * Deterministic: every byte comes from the arguments, so a report rewritten after a crash from
 * the journal is the same file.
 */

export const PAIN002_NS = 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.10';
export const CAMT054_NS = 'urn:iso:std:iso:20022:tech:xsd:camt.054.001.08';

export type GroupStatus = 'ACCP' | 'ACSC' | 'PART' | 'RJCT';

export interface TxStatusLine {
  endToEndId: string;
  status: 'ACSC' | 'RJCT';
  reason?: string;
  reasonText?: string;
  amount?: string;
  currency?: string;
}

export interface StatusReport {
  msgId: string;
  /** ISO date-time, e.g. 2024-05-01T08:00:00Z. */
  creDtTm: string;
  orgnlMsgId: string;
  orgnlNbOfTxs?: string;
  orgnlCtrlSum?: string;
  groupStatus: GroupStatus;
  groupReason?: string;
  groupReasonText?: string;
  /** Present for the final report of an accepted file. */
  payment?: { pmtInfId: string; lines: TxStatusLine[] };
}

export interface NotificationEntry {
  endToEndId: string;
  amount: string;
  currency: string;
}

export interface DebitNotification {
  msgId: string;
  creDtTm: string;
  /** The debtor account of the file, and its currency. */
  account: string;
  currency: string;
  /** ISO date the entries were booked. */
  bookingDate: string;
  /** MsgId and PmtInfId of the pain.001 the entries executed. */
  orgnlMsgId: string;
  pmtInfId: string;
  entries: NotificationEntry[];
}

export function renderStatusReport(r: StatusReport): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Document xmlns="${PAIN002_NS}">`,
    '  <CstmrPmtStsRpt>',
    '    <GrpHdr>',
    `      <MsgId>${esc(r.msgId)}</MsgId>`,
    `      <CreDtTm>${esc(r.creDtTm)}</CreDtTm>`,
    '    </GrpHdr>',
    '    <OrgnlGrpInfAndSts>',
    `      <OrgnlMsgId>${esc(r.orgnlMsgId)}</OrgnlMsgId>`,
    '      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>',
  ];
  if (r.orgnlNbOfTxs !== undefined)
    out.push(`      <OrgnlNbOfTxs>${esc(r.orgnlNbOfTxs)}</OrgnlNbOfTxs>`);
  if (r.orgnlCtrlSum !== undefined)
    out.push(`      <OrgnlCtrlSum>${esc(r.orgnlCtrlSum)}</OrgnlCtrlSum>`);
  out.push(`      <GrpSts>${r.groupStatus}</GrpSts>`);
  if (r.groupReason !== undefined)
    out.push(...reasonInfo('      ', r.groupReason, r.groupReasonText));
  out.push('    </OrgnlGrpInfAndSts>');
  if (r.payment) {
    out.push(
      '    <OrgnlPmtInfAndSts>',
      `      <OrgnlPmtInfId>${esc(r.payment.pmtInfId)}</OrgnlPmtInfId>`,
    );
    for (const line of r.payment.lines) {
      out.push(
        '      <TxInfAndSts>',
        `        <OrgnlEndToEndId>${esc(line.endToEndId)}</OrgnlEndToEndId>`,
        `        <TxSts>${line.status}</TxSts>`,
      );
      if (line.reason !== undefined)
        out.push(...reasonInfo('        ', line.reason, line.reasonText));
      if (line.amount !== undefined && line.currency !== undefined)
        out.push(
          '        <OrgnlTxRef>',
          '          <Amt>',
          `            <InstdAmt Ccy="${esc(line.currency)}">${esc(line.amount)}</InstdAmt>`,
          '          </Amt>',
          '        </OrgnlTxRef>',
        );
      out.push('      </TxInfAndSts>');
    }
    out.push('    </OrgnlPmtInfAndSts>');
  }
  out.push('  </CstmrPmtStsRpt>', '</Document>');
  return `${out.join('\n')}\n`;
}

export function renderDebitNotification(n: DebitNotification): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Document xmlns="${CAMT054_NS}">`,
    '  <BkToCstmrDbtCdtNtfctn>',
    '    <GrpHdr>',
    `      <MsgId>${esc(n.msgId)}</MsgId>`,
    `      <CreDtTm>${esc(n.creDtTm)}</CreDtTm>`,
    '    </GrpHdr>',
    '    <Ntfctn>',
    `      <Id>${esc(n.msgId)}</Id>`,
    `      <CreDtTm>${esc(n.creDtTm)}</CreDtTm>`,
    '      <Acct>',
    '        <Id>',
    '          <Othr>',
    `            <Id>${esc(n.account)}</Id>`,
    '          </Othr>',
    '        </Id>',
    `        <Ccy>${esc(n.currency)}</Ccy>`,
    '      </Acct>',
  ];
  for (const e of n.entries) {
    const amt = `<Amt Ccy="${esc(e.currency)}">${esc(e.amount)}</Amt>`;
    out.push(
      '      <Ntry>',
      `        ${amt}`,
      '        <CdtDbtInd>DBIT</CdtDbtInd>',
      '        <Sts>',
      '          <Cd>BOOK</Cd>',
      '        </Sts>',
      '        <BookgDt>',
      `          <Dt>${esc(n.bookingDate)}</Dt>`,
      '        </BookgDt>',
      '        <BkTxCd>',
      '          <Domn>',
      '            <Cd>PMNT</Cd>',
      '            <Fmly>',
      '              <Cd>ICDT</Cd>',
      '              <SubFmlyCd>DMCT</SubFmlyCd>',
      '            </Fmly>',
      '          </Domn>',
      '        </BkTxCd>',
      '        <NtryDtls>',
      '          <TxDtls>',
      '            <Refs>',
      `              <MsgId>${esc(n.orgnlMsgId)}</MsgId>`,
      `              <PmtInfId>${esc(n.pmtInfId)}</PmtInfId>`,
      `              <EndToEndId>${esc(e.endToEndId)}</EndToEndId>`,
      '            </Refs>',
      `            ${amt}`,
      '            <CdtDbtInd>DBIT</CdtDbtInd>',
      '          </TxDtls>',
      '        </NtryDtls>',
      '      </Ntry>',
    );
  }
  out.push('    </Ntfctn>', '  </BkToCstmrDbtCdtNtfctn>', '</Document>');
  return `${out.join('\n')}\n`;
}

function reasonInfo(indent: string, code: string, text: string | undefined): string[] {
  return [
    `${indent}<StsRsnInf>`,
    `${indent}  <Rsn>`,
    `${indent}    <Cd>${esc(code)}</Cd>`,
    `${indent}  </Rsn>`,
    // AddtlInf is Max105Text.
    ...(text === undefined ? [] : [`${indent}  <AddtlInf>${esc(clip(text, 105))}</AddtlInf>`]),
    `${indent}</StsRsnInf>`,
  ];
}

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
