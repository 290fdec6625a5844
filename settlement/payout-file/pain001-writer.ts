import { PayoutFileInvalidError } from './payout-file-errors';
import { cycleBounds } from '../../runtime/billing/cycle-calendar';
import { formatMinorAmount } from '../../runtime/money/decimal-amount';
import { currencyExponent, regionInfo } from '../../runtime/money/regions';
import { debtorAccount, type DebtorAccount } from './debtor-accounts';

/**
 * Renders an ISO 20022 pain.001.001.09 CustomerCreditTransferInitiation for ONE region, currency
 * and cycle (docs/DESIGN.md, lesson 5). Every byte is a function of the payouts alone, so
 * regenerating a file gives identical bytes and the same SHA-256:
 *   - MsgId and PmtInfId are STS-<region>-<cycle>-<currency> (with -P<n> for part n of a
 *     currency split over several files, each file's CtrlSum within the 18 digits ISO allows);
 *   - CreDtTm is the cycle's cutoff instant in UTC (next Monday 00:00 local), never the wall
 *     clock: it is the earliest moment the file could exist, and the same on every run;
 *   - ReqdExctnDt is the cutoff's local date;
 *   - transactions are ordered by payout id, elements and the one attribute in schema order,
 *     two-space indentation, LF newlines and a trailing newline, UTF-8 without BOM.
 * Amounts are bigint minor units formatted by the currency's ISO 4217 exponent with string
 * arithmetic (VND, exponent 0, has no decimal point); CtrlSum is summed in bigint, then formatted.
 * A zero or negative amount never belongs in a file and is refused with STS_PAYOUT_FILE_INVALID.
 *
 * Large files are built by the caller in pages: renderHeader(), renderTransaction() per payout,
 * then DOCUMENT_TAIL. renderPain001() does all three for a list that fits in memory.
 *
 * Failure codes: STS_PAYOUT_FILE_INVALID.
 */

export const PAIN001_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09';

export interface PayoutLine {
  id: bigint;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  region: string;
  cycleId: bigint;
}

/** What one file covers. */
export interface PayoutFileKey {
  region: string;
  cycleId: bigint;
  currency: string;
  /**
   * 1-based, when a currency's payouts are split over several files because their total would
   * pass the 18 digits of a CtrlSum (payout-pages.ts, payableParts); absent for the one file of a
   * currency, whose name and bytes are as they always were.
   */
  part?: number;
}

export interface ControlTotals {
  nbOfTxs: number;
  ctrlSumMinor: bigint;
}

/** ISO 20022 amounts and CtrlSum allow 18 digits in total. */
const MAX_AMOUNT_DIGITS = 18;
const INT64_MAX = 2n ** 63n - 1n;

export const messageId = (k: PayoutFileKey) =>
  `STS-${k.region}-${k.cycleId}-${k.currency}${k.part ? `-P${k.part}` : ''}`;
export const payoutFileName = (k: PayoutFileKey) =>
  `pain001-${k.region}-${k.cycleId}-${k.currency}${k.part ? `-p${k.part}` : ''}.xml`;

const FILE_NAME = /^pain001-([A-Z]{2})-(\d{8})-([A-Z]{3})(?:-p([1-9]\d{0,5}))?\.xml$/;

/** The key a file name stands for, or undefined when it is not one of ours. */
export function parsePayoutFileName(name: string): PayoutFileKey | undefined {
  const m = FILE_NAME.exec(name);
  if (!m) return undefined;
  const key: PayoutFileKey = { region: m[1]!, cycleId: BigInt(m[2]!), currency: m[3]! };
  if (m[4]) key.part = Number(m[4]);
  return key;
}

export { currencyExponent };

/** CreDtTm: the cycle's cutoff in UTC, to the second. */
export function creationDateTime(region: string, cycleId: bigint): string {
  return cycleBounds(region, cycleId)
    .cutoffAt.toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
}

/** ReqdExctnDt: the local date of the cutoff, the Monday after the cycle's own Monday. */
export function requestedExecutionDate(cycleId: bigint): string {
  const n = Number(cycleId);
  const d = new Date(
    Date.UTC(Math.floor(n / 10000), (Math.floor(n / 100) % 100) - 1, (n % 100) + 7),
  );
  return d.toISOString().slice(0, 10);
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

interface CheckedKey {
  exponent: number;
  debtor: DebtorAccount;
}

/** Refuses a key no file can be written for: unknown region, currency or cycle. */
export function checkKey(key: PayoutFileKey): CheckedKey {
  const context = { region: key.region, cycleId: key.cycleId.toString(), currency: key.currency };
  const debtor = debtorAccount(key.region);
  if (!regionInfo(key.region) || !debtor)
    throw new PayoutFileInvalidError(`unknown region ${key.region}`, context);
  const exponent = currencyExponent(key.currency);
  if (exponent === undefined)
    throw new PayoutFileInvalidError(
      `currency ${key.currency} has no known ISO 4217 exponent`,
      context,
    );
  try {
    cycleBounds(key.region, key.cycleId);
  } catch (err) {
    throw new PayoutFileInvalidError(
      `cycle ${key.cycleId} is not a cycle of ${key.region}: ${(err as Error).message}`,
      context,
    );
  }
  return { exponent, debtor };
}

/** An amount as ISO 20022 text; zero, negative and over-long amounts are refused. */
export function formatAmount(
  minor: bigint,
  exponent: number,
  what: string,
  context: Record<string, unknown> = {},
): string {
  if (minor <= 0n)
    throw new PayoutFileInvalidError(
      `${what} is ${minor} minor units; only positive amounts belong in a payout file`,
      context,
    );
  if (minor.toString().length > MAX_AMOUNT_DIGITS) {
    throw new PayoutFileInvalidError(
      `${what} ${minor} has more than ${MAX_AMOUNT_DIGITS} digits, the ISO 20022 limit`,
      context,
    );
  }
  return formatMinorAmount(minor, exponent);
}

export function renderHeader(key: PayoutFileKey, totals: ControlTotals): string {
  const { exponent, debtor } = checkKey(key);
  if (!Number.isSafeInteger(totals.nbOfTxs) || totals.nbOfTxs < 1) {
    throw new PayoutFileInvalidError(
      `a payout file needs at least one transaction, got ${totals.nbOfTxs}`,
      { region: key.region },
    );
  }
  const ctrlSum = formatAmount(totals.ctrlSumMinor, exponent, 'CtrlSum', {
    region: key.region,
    cycleId: key.cycleId.toString(),
  });
  return [
    ...documentHead({
      msgId: messageId(key),
      creDtTm: creationDateTime(key.region, key.cycleId),
      nbOfTxs: totals.nbOfTxs,
      ctrlSum,
      reqdExctnDt: requestedExecutionDate(key.cycleId),
      debtor,
      currency: key.currency,
    }),
    '',
  ].join('\n');
}

/**
 * The document up to its first transaction: GrpHdr, and one PmtInf's header with the paying
 * account as Dbtr, DbtrAcct and DbtrAgt. Shared by the cycle's record file and the bank rail's
 * files, so the two can never disagree on how the marketplace names itself.
 */
export function documentHead(h: {
  msgId: string;
  creDtTm: string;
  nbOfTxs: number;
  ctrlSum: string;
  reqdExctnDt: string;
  debtor: DebtorAccount;
  currency: string;
}): string[] {
  const id = escapeXml(h.msgId);
  const name = escapeXml(h.debtor.name);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Document xmlns="${PAIN001_NAMESPACE}">`,
    '  <CstmrCdtTrfInitn>',
    '    <GrpHdr>',
    `      <MsgId>${id}</MsgId>`,
    `      <CreDtTm>${h.creDtTm}</CreDtTm>`,
    `      <NbOfTxs>${h.nbOfTxs}</NbOfTxs>`,
    `      <CtrlSum>${h.ctrlSum}</CtrlSum>`,
    '      <InitgPty>',
    `        <Nm>${name}</Nm>`,
    '      </InitgPty>',
    '    </GrpHdr>',
    '    <PmtInf>',
    `      <PmtInfId>${id}</PmtInfId>`,
    '      <PmtMtd>TRF</PmtMtd>',
    `      <NbOfTxs>${h.nbOfTxs}</NbOfTxs>`,
    `      <CtrlSum>${h.ctrlSum}</CtrlSum>`,
    '      <ReqdExctnDt>',
    `        <Dt>${h.reqdExctnDt}</Dt>`,
    '      </ReqdExctnDt>',
    '      <Dbtr>',
    `        <Nm>${name}</Nm>`,
    '      </Dbtr>',
    '      <DbtrAcct>',
    '        <Id>',
    '          <Othr>',
    `            <Id>${escapeXml(h.debtor.accountId)}</Id>`,
    '          </Othr>',
    '        </Id>',
    `        <Ccy>${escapeXml(h.currency)}</Ccy>`,
    '      </DbtrAcct>',
    '      <DbtrAgt>',
    '        <FinInstnId>',
    `          <BICFI>${escapeXml(h.debtor.bic)}</BICFI>`,
    '        </FinInstnId>',
    '      </DbtrAgt>',
  ];
}

/** One CdtTrfTxInf. `exponent` comes from checkKey(key), so a page does not look it up per line. */
export function renderTransaction(key: PayoutFileKey, exponent: number, p: PayoutLine): string {
  const context = {
    payoutId: p.id.toString(),
    region: p.region,
    cycleId: p.cycleId.toString(),
    currency: p.currency,
  };
  // A payout of another region, cycle or currency in this file would pay it from the wrong account.
  if (p.region !== key.region || p.cycleId !== key.cycleId || p.currency !== key.currency) {
    throw new PayoutFileInvalidError(
      `payout ${p.id} (${p.region}, ${p.cycleId}, ${p.currency}) does not belong in ${payoutFileName(key)}`,
      context,
    );
  }
  if (p.id <= 0n || p.id > INT64_MAX)
    throw new PayoutFileInvalidError(`payout id ${p.id} is not a positive 64-bit id`, context);
  if (p.shopUserId <= 0n || p.shopUserId > INT64_MAX) {
    throw new PayoutFileInvalidError(
      `payout ${p.id}: shop_user_id ${p.shopUserId} is not a positive 64-bit id`,
      context,
    );
  }
  const amount = formatAmount(p.amountMinor, exponent, `payout ${p.id} amount`, context);
  return [
    '      <CdtTrfTxInf>',
    '        <PmtId>',
    `          <EndToEndId>${p.id}</EndToEndId>`,
    '        </PmtId>',
    '        <Amt>',
    `          <InstdAmt Ccy="${escapeXml(p.currency)}">${amount}</InstdAmt>`,
    '        </Amt>',
    '        <CdtrAcct>',
    '          <Id>',
    '            <Othr>',
    `              <Id>${p.shopUserId}</Id>`,
    '            </Othr>',
    '          </Id>',
    '        </CdtrAcct>',
    '      </CdtTrfTxInf>',
    '',
  ].join('\n');
}

export const DOCUMENT_TAIL = '    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n';

/** A whole document for payouts that fit in memory; sorted by id here, whatever the input order. */
export function renderPain001(key: PayoutFileKey, payouts: readonly PayoutLine[]): string {
  const { exponent } = checkKey(key);
  const sorted = [...payouts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let ctrlSumMinor = 0n;
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i]!.id === sorted[i - 1]!.id) {
      throw new PayoutFileInvalidError(`payout ${sorted[i]!.id} appears twice`, {
        payoutId: sorted[i]!.id.toString(),
      });
    }
    ctrlSumMinor += sorted[i]!.amountMinor;
  }
  const body = sorted.map((p) => renderTransaction(key, exponent, p));
  return (
    renderHeader(key, { nbOfTxs: sorted.length, ctrlSumMinor }) + body.join('') + DOCUMENT_TAIL
  );
}
