import { XMLParser } from 'fast-xml-parser';

/**
 * Reads a pain.001.001.09 credit transfer file the way the bank simulator needs it: the group
 * header, the one payment information block, and each transaction's EndToEndId, instructed
 * amount, creditor and creditor account and agent. Values stay strings (ids and amounts are
 * never turned into JS numbers); amounts are compared as scaled bigints.
 *
 * A file the bank cannot execute as sent is `{ ok: false, problem }`, which the simulator
 * refuses as a whole with FF01: not well-formed, not a pain.001.001.09 Document, a mandatory
 * element missing or malformed, more or fewer than one PmtInf, NbOfTxs or CtrlSum (of the group
 * or of the PmtInf) not matching the transactions. The MsgId is returned whenever it could be
 * read, so the refusal can quote it.
 */

export const PAIN001_NS = 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09';

export interface Pain001Transfer {
  endToEndId: string;
  /** InstdAmt as written in the file, e.g. "12.50". */
  amount: string;
  /** InstdAmt/@Ccy. */
  currency: string;
  creditorName?: string;
  /** CdtrAcct/Id/IBAN or CdtrAcct/Id/Othr/Id. */
  account: string;
  /** CdtrAgt/FinInstnId/BICFI or CdtrAgt/FinInstnId/ClrSysMmbId/MmbId. */
  agent?: string;
}

export interface Pain001File {
  msgId: string;
  creDtTm?: string;
  nbOfTxs: string;
  /** Absent when the file has none (it is optional in pain.001). */
  ctrlSum?: string;
  pmtInfId: string;
  /** DbtrAcct/Id/Othr/Id (or IBAN). */
  debtorAccount: string;
  /** DbtrAcct/Ccy, or the first transaction's currency when the file names none. */
  debtorCurrency: string;
  transfers: Pain001Transfer[];
}

export type Pain001Read =
  | { ok: true; file: Pain001File }
  | { ok: false; msgId?: string; nbOfTxs?: string; ctrlSum?: string; problem: string };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  isArray: (name) => name === 'CdtTrfTxInf' || name === 'PmtInf',
});

type Node = Record<string, unknown>;

function at(node: unknown, ...names: string[]): unknown {
  let cur = node;
  for (const n of names)
    cur = cur !== null && typeof cur === 'object' ? (cur as Node)[n] : undefined;
  return cur;
}

/** An element's text, whether or not it has attributes; undefined when it has child elements. */
function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.some((k) => k !== '#text' && !k.startsWith('@'))) return undefined;
  const text = (node as Node)['#text'];
  return typeof text === 'string' ? text : undefined;
}

const MAX35 = /^.{1,35}$/su;
const AMOUNT = /^\d{1,18}(\.\d{1,5})?$/;
const DECIMAL = /^\d{1,18}(\.\d{1,17})?$/;
const CURRENCY = /^[A-Z]{3}$/;

/** A decimal string as an integer count of 10^-17 units; undefined when it is not a decimal. */
export function decimalUnits(text: string): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m || (m[2]?.length ?? 0) > 17) return undefined;
  return BigInt(m[1]! + (m[2] ?? '').padEnd(17, '0'));
}

/** The namespace the root element's prefix (or the default namespace) is bound to. */
function rootNamespace(text: string): string | undefined {
  const m = /<(?:([A-Za-z_][\w.-]*):)?Document\b([^>]*)>/.exec(text);
  if (!m) return undefined;
  const attr = m[1] ? `xmlns:${m[1]}` : 'xmlns';
  const ns = new RegExp(`(?:^|\\s)${attr.replace(/\./g, '\\.')}\\s*=\\s*(["'])(.*?)\\1`).exec(
    m[2]!,
  );
  return ns?.[2];
}

export function readPain001(text: string): Pain001Read {
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch (err) {
    return { ok: false, problem: `not well-formed XML: ${(err as Error).message}` };
  }
  const initn = at(doc, 'Document', 'CstmrCdtTrfInitn');
  const grp = at(initn, 'GrpHdr');
  const rawMsgId = textOf(at(grp, 'MsgId'));
  const msgId = rawMsgId !== undefined && MAX35.test(rawMsgId) ? rawMsgId : undefined;
  const nbOfTxs = textOf(at(grp, 'NbOfTxs'));
  const ctrlSum = textOf(at(grp, 'CtrlSum'));
  const fail = (problem: string): Pain001Read => ({ ok: false, msgId, nbOfTxs, ctrlSum, problem });

  if (initn === undefined || typeof initn !== 'object')
    return fail('no Document/CstmrCdtTrfInitn element');
  const ns = rootNamespace(text);
  if (ns !== PAIN001_NS) return fail(`Document namespace is ${ns ?? 'missing'}, not ${PAIN001_NS}`);
  if (msgId === undefined) return fail('GrpHdr/MsgId is missing or longer than 35 characters');
  if (nbOfTxs === undefined || !/^\d{1,15}$/.test(nbOfTxs))
    return fail('GrpHdr/NbOfTxs is missing or not a number');
  if (ctrlSum !== undefined && !DECIMAL.test(ctrlSum))
    return fail(`GrpHdr/CtrlSum ${ctrlSum} is not a decimal number`);

  const pmtInfs = (at(initn, 'PmtInf') as unknown[] | undefined) ?? [];
  if (pmtInfs.length !== 1)
    return fail(`${pmtInfs.length} PmtInf blocks; the simulator takes exactly one per file`);
  const pmt = pmtInfs[0];
  const pmtInfId = textOf(at(pmt, 'PmtInfId'));
  if (pmtInfId === undefined || !MAX35.test(pmtInfId)) return fail('PmtInf/PmtInfId is missing');
  const debtorAccount =
    textOf(at(pmt, 'DbtrAcct', 'Id', 'Othr', 'Id')) ?? textOf(at(pmt, 'DbtrAcct', 'Id', 'IBAN'));
  if (debtorAccount === undefined) return fail('PmtInf/DbtrAcct/Id is missing');

  const txNodes = (at(pmt, 'CdtTrfTxInf') as unknown[] | undefined) ?? [];
  if (txNodes.length === 0) return fail('the PmtInf has no CdtTrfTxInf');
  const transfers: Pain001Transfer[] = [];
  let sum = 0n;
  for (const [i, tx] of txNodes.entries()) {
    const where = `CdtTrfTxInf ${i + 1}`;
    const endToEndId = textOf(at(tx, 'PmtId', 'EndToEndId'));
    if (endToEndId === undefined || !MAX35.test(endToEndId))
      return fail(`${where}: PmtId/EndToEndId is missing or longer than 35 characters`);
    const instd = at(tx, 'Amt', 'InstdAmt');
    const amount = textOf(instd);
    const currency = at(instd, '@Ccy');
    if (amount === undefined || !AMOUNT.test(amount))
      return fail(`${where} (${endToEndId}): Amt/InstdAmt is missing or not an amount`);
    if (typeof currency !== 'string' || !CURRENCY.test(currency))
      return fail(`${where} (${endToEndId}): Amt/InstdAmt has no Ccy`);
    const account =
      textOf(at(tx, 'CdtrAcct', 'Id', 'IBAN')) ?? textOf(at(tx, 'CdtrAcct', 'Id', 'Othr', 'Id'));
    if (account === undefined) return fail(`${where} (${endToEndId}): CdtrAcct/Id is missing`);
    const agent =
      textOf(at(tx, 'CdtrAgt', 'FinInstnId', 'BICFI')) ??
      textOf(at(tx, 'CdtrAgt', 'FinInstnId', 'ClrSysMmbId', 'MmbId'));
    const creditorName = textOf(at(tx, 'Cdtr', 'Nm'));
    sum += decimalUnits(amount)!;
    transfers.push({
      endToEndId,
      amount,
      currency,
      account,
      ...(creditorName === undefined ? {} : { creditorName }),
      ...(agent === undefined ? {} : { agent }),
    });
  }

  const counts: Array<[string, string | undefined, string | undefined]> = [
    ['GrpHdr', nbOfTxs, ctrlSum],
    ['PmtInf', textOf(at(pmt, 'NbOfTxs')), textOf(at(pmt, 'CtrlSum'))],
  ];
  for (const [block, nb, ctrl] of counts) {
    if (nb !== undefined && (!/^\d{1,15}$/.test(nb) || BigInt(nb) !== BigInt(transfers.length)))
      return fail(`${block}/NbOfTxs is ${nb} but the file has ${transfers.length} transactions`);
    if (ctrl !== undefined && decimalUnits(ctrl) !== sum)
      return fail(`${block}/CtrlSum is ${ctrl} but the transactions add up to ${formatUnits(sum)}`);
  }

  const dbtrCcy = textOf(at(pmt, 'DbtrAcct', 'Ccy'));
  const creDtTm = textOf(at(grp, 'CreDtTm'));
  return {
    ok: true,
    file: {
      msgId,
      ...(creDtTm === undefined ? {} : { creDtTm }),
      nbOfTxs,
      ...(ctrlSum === undefined ? {} : { ctrlSum }),
      pmtInfId,
      debtorAccount,
      debtorCurrency:
        dbtrCcy !== undefined && CURRENCY.test(dbtrCcy) ? dbtrCcy : transfers[0]!.currency,
      transfers,
    },
  };
}

/** 10^-17 units back to a decimal string without trailing zeros. */
function formatUnits(units: bigint): string {
  const s = units.toString().padStart(18, '0');
  const int = s.slice(0, -17);
  const frac = s.slice(-17).replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}
