import path from 'node:path';
import { parseDecimalAmount } from '../../runtime/money/decimal-amount';
import { manifestPathFor, type PayoutFileManifest, type PayoutIdChecksum } from './manifest';
import type { ScanOutcome, ScannedTransaction } from './pain001-scanner';
import {
  creationDateTime,
  messageId,
  PAIN001_NAMESPACE,
  type PayoutFileKey,
} from './pain001-writer';
import type { FileLine } from './verify-db-checks';
import type { Findings, VerifyCheck } from './verify-findings';

/**
 * The file-side checks of verifyPayoutFile, each a pure function of what the scan found: the
 * lines, the group header, the counts and sums, and the manifest. Ids and amounts are read back
 * from decimal text into bigint, refusing anything the writer would never produce (a sign, more
 * decimals than the currency has, an id beyond 64 bits).
 */

const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_ID = /^[1-9]\d{0,18}$/;
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

export function parseId(text: string | undefined): bigint | undefined {
  if (text === undefined || !DECIMAL_ID.test(text)) return undefined;
  const id = BigInt(text);
  return id <= INT64_MAX ? id : undefined;
}

/** A positive amount with at most `exponent` decimals, as minor units; a reason otherwise. */
export function parseFileAmount(
  text: string | undefined,
  exponent: number,
): { minor: bigint } | { problem: string } {
  if (text === undefined) return { problem: 'no amount' };
  if (!PLAIN_DECIMAL.test(text))
    return { problem: `amount "${text.slice(0, 40)}" is not a plain unsigned decimal` };
  const parsed = parseDecimalAmount(text, exponent);
  if (!parsed.ok) return { problem: parsed.message };
  if (parsed.minor <= 0n) return { problem: `amount ${text} is not positive` };
  return { minor: parsed.minor };
}

export function checkLine(
  tx: ScannedTransaction,
  id: bigint | undefined,
  key: PayoutFileKey | undefined,
  exponent: number | undefined,
  problems: Findings,
): FileLine | undefined {
  const where = `transaction ${tx.index + 1}${tx.endToEndId ? ` (EndToEndId ${tx.endToEndId})` : ''}`;
  const bad = (problem: string) => (problems.add(`${where}: ${problem}`), undefined);
  if (id === undefined)
    return bad(
      `EndToEndId ${JSON.stringify(tx.endToEndId ?? null)} is not a positive 64-bit decimal id`,
    );
  const shopUserId = parseId(tx.creditorId);
  if (shopUserId === undefined)
    return bad(
      `creditor account ${JSON.stringify(tx.creditorId ?? null)} is not a positive 64-bit decimal shop_user_id`,
    );
  if (!key || exponent === undefined)
    return bad('the file currency is unknown, so the amount cannot be read');
  if (tx.ccy !== key.currency)
    return bad(`InstdAmt Ccy is ${JSON.stringify(tx.ccy ?? null)}, the file is in ${key.currency}`);
  const amount = parseFileAmount(tx.amount, exponent);
  if ('problem' in amount) return bad(amount.problem);
  return { id, shopUserId, amountMinor: amount.minor };
}

export function structureCheck(scan: ScanOutcome): VerifyCheck {
  const problems = [...scan.structureProblems];
  if (scan.header && scan.header.namespace !== PAIN001_NAMESPACE)
    problems.push(
      `namespace is ${JSON.stringify(scan.header.namespace ?? null)}, expected ${PAIN001_NAMESPACE}`,
    );
  return {
    name: 'structure',
    ok: problems.length === 0,
    detail:
      problems.join('; ') || 'well-formed pain.001.001.09, one PmtInf holding every transaction',
  };
}

export function headerCheck(scan: ScanOutcome, key: PayoutFileKey | undefined): VerifyCheck {
  const h = scan.header;
  if (!h) return { name: 'group-header', ok: false, detail: 'no group header could be read' };
  if (!key)
    return {
      name: 'group-header',
      ok: false,
      detail: 'cannot tell which region, cycle and currency the file is for',
    };
  const problems: string[] = [];
  const expect = (what: string, actual: string | undefined, expected: string) => {
    if (actual !== expected)
      problems.push(
        `${what} is ${JSON.stringify(actual ?? null)}, expected ${JSON.stringify(expected)}`,
      );
  };
  expect('MsgId', h.msgId, messageId(key));
  expect('PmtInfId', h.pmtInfId, messageId(key));
  try {
    expect('CreDtTm', h.creDtTm, creationDateTime(key.region, key.cycleId));
  } catch (err) {
    problems.push(
      `no CreDtTm can be derived for ${key.region} ${key.cycleId}: ${(err as Error).message}`,
    );
  }
  expect('DbtrAcct Ccy', h.debtorCcy, key.currency);
  expect('PmtInf NbOfTxs', h.pmtNbOfTxs, h.nbOfTxs ?? '');
  expect('PmtInf CtrlSum', h.pmtCtrlSum, h.ctrlSum ?? '');
  return {
    name: 'group-header',
    ok: problems.length === 0,
    detail: problems.join('; ') || `MsgId ${h.msgId}, CreDtTm ${h.creDtTm}`,
  };
}

export function countCheck(scan: ScanOutcome): VerifyCheck {
  const declared = scan.header?.nbOfTxs;
  const ok =
    declared !== undefined &&
    /^\d+$/.test(declared) &&
    BigInt(declared) === BigInt(scan.transactionCount);
  return {
    name: 'nb-of-txs',
    ok,
    detail: ok
      ? `NbOfTxs ${declared} = ${scan.transactionCount} transactions counted`
      : `GrpHdr NbOfTxs is ${JSON.stringify(declared ?? null)}, the file holds ${scan.transactionCount} transactions`,
  };
}

export function ctrlSumCheck(
  scan: ScanOutcome,
  exponent: number | undefined,
  sumMinor: bigint,
): VerifyCheck {
  const declared = scan.header?.ctrlSum;
  if (exponent === undefined)
    return {
      name: 'ctrl-sum',
      ok: false,
      detail: 'the file currency is unknown, so CtrlSum cannot be read',
    };
  const parsed = parseFileAmount(declared, exponent);
  if ('problem' in parsed)
    return { name: 'ctrl-sum', ok: false, detail: `GrpHdr CtrlSum: ${parsed.problem}` };
  const ok = parsed.minor === sumMinor;
  return {
    name: 'ctrl-sum',
    ok,
    detail: ok
      ? `CtrlSum ${declared} = the sum of the amounts`
      : `GrpHdr CtrlSum is ${declared} (${parsed.minor} minor units), the amounts sum to ${sumMinor} minor units`,
  };
}

export function manifestCheck(
  file: string,
  manifest: PayoutFileManifest | string | undefined,
  key: PayoutFileKey | undefined,
  scan: ScanOutcome,
  sumMinor: bigint,
  exponent: number | undefined,
  idChecksum: PayoutIdChecksum,
): VerifyCheck {
  if (typeof manifest !== 'object')
    return { name: 'manifest', ok: false, detail: manifest ?? 'no manifest' };
  const ids = idChecksum.summary();
  const problems: string[] = [];
  const expect = (field: string, actual: unknown, expected: unknown) => {
    if (actual !== expected)
      problems.push(
        `${field} is ${JSON.stringify(actual)}, the file has ${JSON.stringify(expected)}`,
      );
  };
  if (key) {
    expect('region', manifest.region, key.region);
    expect('currency', manifest.currency, key.currency);
    expect('cycleId', manifest.cycleId, key.cycleId.toString());
  }
  expect('fileName', manifest.fileName, path.basename(file));
  expect('nbOfTxs', manifest.nbOfTxs, scan.transactionCount);
  expect('ctrlSumMinor', manifest.ctrlSumMinor, sumMinor.toString());
  expect('ctrlSum', manifest.ctrlSum, scan.header?.ctrlSum);
  if (exponent !== undefined) {
    const parsed = parseFileAmount(manifest.ctrlSum, exponent);
    if ('problem' in parsed || parsed.minor !== BigInt(manifest.ctrlSumMinor))
      problems.push(
        `ctrlSum ${manifest.ctrlSum} and ctrlSumMinor ${manifest.ctrlSumMinor} disagree`,
      );
  }
  expect('payoutIds.first', manifest.payoutIds.first, ids.first);
  expect('payoutIds.last', manifest.payoutIds.last, ids.last);
  expect('payoutIds.sha256', manifest.payoutIds.sha256, ids.sha256);
  return {
    name: 'manifest',
    ok: problems.length === 0,
    detail: problems.join('; ') || `${manifestPathFor(path.basename(file))} agrees with the file`,
  };
}
