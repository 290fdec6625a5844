import { at, isoXmlParser, textOf } from '../../runtime/xml/iso-xml';

/**
 * Parses the pieces pain001-scanner cuts out of a payout file, with fast-xml-parser: batches of
 * <CdtTrfTxInf> elements, and the skeleton (the document without them). Values stay strings, ids
 * and amounts included, so nothing is rounded through a JS number on the way; the verifier
 * converts them to bigint itself. Every parse runs the parser's validator, and a piece that is not
 * well-formed becomes a structure problem, not an exception.
 */

export interface ScannedTransaction {
  /** 0-based position in the file. */
  index: number;
  endToEndId?: string;
  amount?: string;
  ccy?: string;
  creditorId?: string;
}

export interface ScannedHeader {
  namespace?: string;
  msgId?: string;
  creDtTm?: string;
  nbOfTxs?: string;
  ctrlSum?: string;
  pmtInfCount: number;
  pmtInfId?: string;
  pmtNbOfTxs?: string;
  pmtCtrlSum?: string;
  debtorCcy?: string;
}

const parser = isoXmlParser(['CdtTrfTxInf', 'PmtInf']);

/**
 * A transaction exactly as pain001-writer renders it (same elements, order and whitespace), with
 * each value limited to characters the writer can produce there. An element that matches is
 * well-formed XML by construction (no markup, entities or quotes can hide in a value), and its
 * values are what the parser would return, so it needs no parse. Parsing every element was most
 * of the CPU of verifying a million-payout file. Anything else, however small the difference,
 * goes through the validating parser.
 */
const CANONICAL = new RegExp(
  [
    '^<CdtTrfTxInf>',
    '        <PmtId>',
    '          <EndToEndId>([0-9]{1,25})</EndToEndId>',
    '        </PmtId>',
    '        <Amt>',
    '          <InstdAmt Ccy="([A-Z]{3})">([0-9]{1,25}(?:\\.[0-9]{1,25})?)</InstdAmt>',
    '        </Amt>',
    '        <CdtrAcct>',
    '          <Id>',
    '            <Othr>',
    '              <Id>([0-9]{1,25})</Id>',
    '            </Othr>',
    '          </Id>',
    '        </CdtrAcct>',
    '      </CdtTrfTxInf>$',
  ].join('\n'),
);

/** The batch read by CANONICAL, or undefined when one element differs from it. */
function readCanonical(elements: string[], first: number): ScannedTransaction[] | undefined {
  const out = new Array<ScannedTransaction>(elements.length);
  for (let k = 0; k < elements.length; k++) {
    const m = CANONICAL.exec(elements[k]!);
    if (!m) return undefined;
    out[k] = { index: first + k, endToEndId: m[1], ccy: m[2], amount: m[3], creditorId: m[4] };
  }
  return out;
}

/** One batch of cut-out <CdtTrfTxInf> elements, parsed as one document. */
export function parseTransactions(
  elements: string[],
  first: number,
  structure: string[],
): ScannedTransaction[] {
  const canonical = readCanonical(elements, first);
  if (canonical) return canonical;
  let parsed: unknown[];
  try {
    const doc = parser.parse(`<Batch>${elements.join('')}</Batch>`, true) as unknown;
    parsed = (at(doc, 'Batch', 'CdtTrfTxInf') as unknown[] | undefined) ?? [];
  } catch (err) {
    structure.push(
      `transactions ${first + 1}..${first + elements.length} are not well-formed XML: ${(err as Error).message}`,
    );
    parsed = [];
  }
  return elements.map((_, k) => {
    const tx = parsed[k];
    const amt = at(tx, 'Amt', 'InstdAmt');
    const ccy = at(amt, '@Ccy');
    return {
      index: first + k,
      endToEndId: textOf(at(tx, 'PmtId', 'EndToEndId')),
      amount: textOf(amt),
      ccy: typeof ccy === 'string' ? ccy : undefined,
      creditorId: textOf(at(tx, 'CdtrAcct', 'Id', 'Othr', 'Id')),
    };
  });
}

/** The document without its transactions; `runs` placeholders stand where transactions were. */
export function parseSkeleton(
  text: string,
  runs: number,
  structure: string[],
): ScannedHeader | undefined {
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch (err) {
    structure.push(`not well-formed XML: ${(err as Error).message}`);
    return undefined;
  }
  const root = at(doc, 'Document');
  const ns = at(root, '@xmlns');
  const initn = at(root, 'CstmrCdtTrfInitn');
  if (initn === undefined) structure.push('no Document/CstmrCdtTrfInitn element');
  const grp = at(initn, 'GrpHdr');
  if (grp === undefined) structure.push('no GrpHdr');
  const pmtInfs = (at(initn, 'PmtInf') as unknown[] | undefined) ?? [];
  if (pmtInfs.length !== 1)
    structure.push(`${pmtInfs.length} PmtInf elements; a payout file has exactly one`);
  const pmt = pmtInfs[0];
  const inPmt = ((at(pmt, 'CdtTrfTxInf') as unknown[] | undefined) ?? []).length;
  if (runs > 1 || inPmt !== runs)
    structure.push('transactions are not one contiguous block inside the PmtInf');
  return {
    namespace: typeof ns === 'string' ? ns : undefined,
    msgId: textOf(at(grp, 'MsgId')),
    creDtTm: textOf(at(grp, 'CreDtTm')),
    nbOfTxs: textOf(at(grp, 'NbOfTxs')),
    ctrlSum: textOf(at(grp, 'CtrlSum')),
    pmtInfCount: pmtInfs.length,
    pmtInfId: textOf(at(pmt, 'PmtInfId')),
    pmtNbOfTxs: textOf(at(pmt, 'NbOfTxs')),
    pmtCtrlSum: textOf(at(pmt, 'CtrlSum')),
    debtorCcy: textOf(at(pmt, 'DbtrAcct', 'Ccy')),
  };
}
