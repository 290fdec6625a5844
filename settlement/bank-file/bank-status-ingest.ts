import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { at, isoXmlParser, listOf, textOf } from '../../runtime/xml/iso-xml';
import type { Knex } from '../../runtime/db/knex';
import { isDuplicateKey } from '../../runtime/db/duplicate-key';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { Logger } from '../../runtime/logger';
import { parseDecimalAmount } from '../../runtime/money/decimal-amount';
import { formatMoney, formatMoneyText } from '../../runtime/money/money-text';
import type { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { currencyExponent } from '../payout-file/pain001-writer';
import { recordPayoutOutcomes, type PayoutOutcome } from '../payouts/payout-outcomes';

/**
 * The bank-file rail's inbound side: the bank's pain.002 status reports and camt.054 debit
 * notifications, read from STS_BANK_INBOUND_DIR in name order and each applied exactly once,
 * keyed by its own MsgId. A report is applied in one transaction together with its bank_report
 * row, so a process killed mid-report applied none of it and the next run applies all of it; a
 * report seen again (the bank sent it twice, or the move out of the folder was lost to a crash)
 * finds its row and changes nothing. Applied reports move to `processed/`, unreadable ones to
 * `refused/`.
 *
 * pain.002, per transaction of the file it answers (OrgnlMsgId):
 *   - ACSC: the SUBMITTED payout becomes PAID (CONFIRM), its result goes out;
 *   - RJCT: it becomes FAILED with the bank's reason (CANCEL), its amount returns to the seller's
 *     balance once, its result goes out;
 *   - ACCP, ACTC, ACSP, PDNG: accepted, not yet settled: nothing changes.
 *   A group status RJCT without transactions rejects the whole file: every SUBMITTED payout of it
 *   fails with the group's reason. A group RJCT for duplication (AM05) of a file the bank had
 *   already accepted is the bank refusing a second copy: nothing changes.
 * camt.054: each DBIT entry is recorded (bank_debit) for reconciliation, which matches it to a
 * PAID payout of the same amount.
 * What cannot be right changes nothing and becomes a bank_report_issue, which reconciliation
 * reports: an EndToEndId that is no payout of that file, an amount or currency other than the
 * payout's, a status contradicting the payout's final state (PAID then RJCT), a report for a file
 * never sent.
 */
export interface IngestDeps {
  db: Knex;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  inboundDir: string;
  logger: Logger;
  resultsTopic?: string;
}

export interface IngestResult {
  applied: string[];
  /** Already applied earlier: moved out, nothing changed. */
  repeated: string[];
  /** Unreadable: moved to refused/. */
  refused: string[];
}

const PAIN002 = 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.10';
const CAMT054 = 'urn:iso:std:iso:20022:tech:xsd:camt.054.001.08';
const NOT_YET_FINAL = new Set(['ACCP', 'ACTC', 'ACSP', 'PDNG', 'RCVD', 'ACWC']);

const parser = isoXmlParser(['OrgnlPmtInfAndSts', 'TxInfAndSts', 'Ntfctn', 'Ntry', 'TxDtls', 'StsRsnInf']);
const text = textOf;
const list = listOf;
const reasonOf = (node: unknown): string | undefined => text(at(list(at(node, 'StsRsnInf'))[0], 'Rsn', 'Cd'));

export async function ingestBankReports(deps: IngestDeps): Promise<IngestResult> {
  const result: IngestResult = { applied: [], repeated: [], refused: [] };
  let names: string[];
  try {
    names = (await fs.readdir(deps.inboundDir)).filter((n) => n.endsWith('.xml') && !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw err;
  }
  for (const name of names) {
    const file = path.join(deps.inboundDir, name);
    const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
      // Another ingestor (a second `sts run all`) took it between the listing and the read.
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!bytes) continue;
    const report = readReport(bytes.toString('utf8'));
    if (typeof report === 'string') {
      deps.logger.error({ file: name, problem: report }, 'bank report refused: unreadable');
      await moveTo(deps.inboundDir, 'refused', name);
      result.refused.push(name);
      continue;
    }
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    const applied = await applyOnce(deps, report, name, sha256);
    (applied ? result.applied : result.repeated).push(report.msgId);
    await moveTo(deps.inboundDir, 'processed', name);
  }
  return result;
}

/** Moves a handled report aside; one another ingestor moved first is already where it belongs. */
async function moveTo(dir: string, sub: string, name: string): Promise<void> {
  await fs.mkdir(path.join(dir, sub), { recursive: true });
  await fs.rename(path.join(dir, name), path.join(dir, sub, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

interface TxStatus {
  endToEndId: string;
  status: string;
  reason?: string;
  amount?: string;
  currency?: string;
}

interface Debit {
  endToEndId: string;
  orgnlMsgId?: string;
  amount: string;
  currency: string;
  bookedOn?: string;
}

type Report =
  | { kind: 'pain.002'; msgId: string; orgnlMsgId: string; groupStatus?: string; groupReason?: string; txs: TxStatus[] }
  | { kind: 'camt.054'; msgId: string; debits: Debit[] };

/** The report's content, or a sentence saying why it cannot be read. */
function readReport(xml: string): Report | string {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    return `not well-formed XML: ${(err as Error).message}`;
  }
  const ns = at(doc, 'Document', '@xmlns');
  if (ns === PAIN002) {
    const rpt = at(doc, 'Document', 'CstmrPmtStsRpt');
    const msgId = text(at(rpt, 'GrpHdr', 'MsgId'));
    const grp = at(rpt, 'OrgnlGrpInfAndSts');
    const orgnlMsgId = text(at(grp, 'OrgnlMsgId'));
    if (!msgId || !orgnlMsgId) return 'a pain.002 without MsgId or OrgnlMsgId';
    const txs: TxStatus[] = [];
    for (const pmt of list(at(rpt, 'OrgnlPmtInfAndSts')))
      for (const tx of list(at(pmt, 'TxInfAndSts'))) {
        const endToEndId = text(at(tx, 'OrgnlEndToEndId'));
        const status = text(at(tx, 'TxSts'));
        if (!endToEndId || !status) return `a transaction status without OrgnlEndToEndId or TxSts in ${msgId}`;
        const amt = at(tx, 'OrgnlTxRef', 'Amt', 'InstdAmt');
        txs.push({ endToEndId, status, reason: reasonOf(tx), amount: text(amt), currency: at(amt, '@Ccy') as string | undefined });
      }
    return { kind: 'pain.002', msgId, orgnlMsgId, groupStatus: text(at(grp, 'GrpSts')), groupReason: reasonOf(grp), txs };
  }
  if (ns === CAMT054) {
    const ntf = at(doc, 'Document', 'BkToCstmrDbtCdtNtfctn');
    const msgId = text(at(ntf, 'GrpHdr', 'MsgId'));
    if (!msgId) return 'a camt.054 without MsgId';
    const debits: Debit[] = [];
    for (const n of list(at(ntf, 'Ntfctn')))
      for (const entry of list(at(n, 'Ntry'))) {
        if (text(at(entry, 'CdtDbtInd')) !== 'DBIT') continue;
        for (const tx of list(at(entry, 'NtryDtls', 'TxDtls'))) {
          const amt = at(tx, 'Amt') ?? at(entry, 'Amt');
          const endToEndId = text(at(tx, 'Refs', 'EndToEndId'));
          const amount = text(amt);
          const currency = at(amt, '@Ccy') as string | undefined;
          if (!endToEndId || !amount || !currency) return `a debit entry without EndToEndId or amount in ${msgId}`;
          debits.push({ endToEndId, orgnlMsgId: text(at(tx, 'Refs', 'MsgId')), amount, currency, bookedOn: text(at(entry, 'BookgDt', 'Dt')) });
        }
      }
    return { kind: 'camt.054', msgId, debits };
  }
  return `not a pain.002.001.10 or camt.054.001.08 document (namespace ${String(ns)})`;
}

/** Applies the report unless its MsgId is already recorded; false when it was. */
async function applyOnce(deps: IngestDeps, report: Report, fileName: string, sha256: string): Promise<boolean> {
  return deps.db.transaction(async (trx) => {
    try {
      await trx('bank_report').insert({
        msg_id: report.msgId,
        kind: report.kind,
        orgnl_msg_id: report.kind === 'pain.002' ? report.orgnlMsgId : null,
        group_status: report.kind === 'pain.002' ? (report.groupStatus ?? null) : null,
        file_name: fileName.slice(0, 255),
        sha256,
        summary: '{}',
      });
    } catch (err) {
      // Applied before: by an earlier run, or this is the bank's second copy of it.
      if (isDuplicateKey(err, 'PRIMARY')) return false;
      throw err;
    }
    const summary = report.kind === 'pain.002' ? await applyStatus(trx, deps, report) : await applyDebits(trx, report);
    await trx('bank_report').where({ msg_id: report.msgId }).update({ summary: JSON.stringify(summary) });
    return true;
  });
}

interface PayoutRow {
  id: string;
  cycle_id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
}

async function applyStatus(trx: Knex.Transaction, deps: IngestDeps, r: Extract<Report, { kind: 'pain.002' }>): Promise<Record<string, number>> {
  const summary: Record<string, number> = {};
  const count = (k: string) => (summary[k] = (summary[k] ?? 0) + 1);
  const issue = (kind: string, detail: string, endToEndId: string | null = null) => {
    count(kind);
    return trx('bank_report_issue').insert({ report_msg_id: r.msgId, end_to_end_id: endToEndId, kind, detail: detail.slice(0, 512) });
  };
  const file = (await trx('bank_file').where({ msg_id: r.orgnlMsgId }).forUpdate().first('msg_id', 'bank_status')) as { msg_id: string; bank_status: string | null } | undefined;
  if (!file) {
    await issue('UNKNOWN_FILE', `status report for ${r.orgnlMsgId}, which was never sent`);
    return summary;
  }
  const [rows] = (await trx.raw(
    `SELECT CAST(id AS CHAR) AS id, CAST(cycle_id AS CHAR) AS cycle_id, region, CAST(shop_user_id AS CHAR) AS shop_user_id, currency, CAST(amount_minor AS CHAR) AS amount_minor, status
       FROM payout WHERE bank_msg_id = ? ORDER BY id FOR UPDATE`,
    [r.orgnlMsgId],
  )) as [PayoutRow[]];
  const byId = new Map(rows.map((p) => [p.id, p]));
  const decidedAt = new Date();
  const outcomes: PayoutOutcome[] = [];
  const outcome = (p: PayoutRow, status: 'PAID' | 'FAILED', failureCode: string | null): PayoutOutcome => ({
    payout: { payoutId: BigInt(p.id), shopUserId: BigInt(p.shop_user_id), region: p.region, currency: p.currency, amountMinor: BigInt(p.amount_minor), cycleId: BigInt(p.cycle_id) },
    status,
    reference: r.msgId,
    failureCode,
    by: 'the bank',
  });

  if (r.txs.length === 0 && r.groupStatus === 'RJCT') {
    // A second copy refused as a duplicate says nothing about the first, which the bank took.
    if (r.groupReason === 'AM05' && file.bank_status !== null && file.bank_status !== 'RJCT') {
      await issue('DUPLICATE_FILE', `the bank refused a second copy of ${r.orgnlMsgId} (AM05); the first stands (${file.bank_status})`);
    } else {
      for (const p of rows) if (p.status === 'SUBMITTED') outcomes.push(outcome(p, 'FAILED', r.groupReason ?? 'RJCT'));
      count('fileRejected');
    }
  }
  const seen = new Set<string>();
  for (const tx of r.txs) {
    const p = byId.get(tx.endToEndId);
    if (!p) {
      await issue('UNKNOWN_END_TO_END_ID', `${tx.endToEndId} is no payout of ${r.orgnlMsgId} (status ${tx.status})`, tx.endToEndId.slice(0, 35));
      continue;
    }
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    if (tx.amount !== undefined || tx.currency !== undefined) {
      const exponent = currencyExponent(p.currency) ?? 2;
      const parsed = tx.amount === undefined ? undefined : parseDecimalAmount(tx.amount, exponent);
      if (tx.currency !== p.currency || !parsed?.ok || parsed.minor !== BigInt(p.amount_minor)) {
        // In another currency, or unreadable, the report's amount is quoted as the bank wrote it.
        const said = tx.currency === p.currency && parsed?.ok ? formatMoney(parsed.minor, p.currency) : `${tx.currency ?? '(no currency)'} ${tx.amount ?? '(no amount)'}`;
        await issue('AMOUNT_MISMATCH', `payout ${p.id} is ${formatMoneyText(p.amount_minor, p.currency)}; the report says ${said}`, p.id);
        continue;
      }
    }
    if (NOT_YET_FINAL.has(tx.status)) {
      count('pending');
      continue;
    }
    const want = tx.status === 'ACSC' ? 'PAID' : tx.status === 'RJCT' ? 'FAILED' : undefined;
    if (!want) {
      await issue('STATUS_CONFLICT', `payout ${p.id}: status ${tx.status} is not one the rail acts on`, p.id);
      continue;
    }
    if (p.status === 'SUBMITTED') outcomes.push(outcome(p, want, want === 'FAILED' ? (tx.reason ?? 'RJCT') : null));
    else if (p.status === want) count('alreadyFinal');
    else await issue('STATUS_CONFLICT', `payout ${p.id} is ${p.status}; the bank now says ${tx.status}${tx.reason ? ` (${tx.reason})` : ''}`, p.id);
  }
  await recordPayoutOutcomes(trx, { ids: deps.ids, outbox: deps.outbox, resultsTopic: deps.resultsTopic }, outcomes, decidedAt);
  for (const o of outcomes) count(o.status);
  if (r.groupStatus && !(r.groupStatus === 'RJCT' && summary.DUPLICATE_FILE)) await trx('bank_file').where({ msg_id: r.orgnlMsgId }).update({ bank_status: r.groupStatus.slice(0, 8) });
  return summary;
}

async function applyDebits(trx: Knex.Transaction, r: Extract<Report, { kind: 'camt.054' }>): Promise<Record<string, number>> {
  const rows = [];
  const seen = new Set<string>();
  for (const d of r.debits) {
    const exponent = currencyExponent(d.currency);
    const parsed = exponent === undefined ? undefined : parseDecimalAmount(d.amount, exponent);
    if (!parsed?.ok || seen.has(d.endToEndId)) continue;
    seen.add(d.endToEndId);
    rows.push({ report_msg_id: r.msgId, end_to_end_id: d.endToEndId.slice(0, 35), orgnl_msg_id: d.orgnlMsgId?.slice(0, 35) ?? null, currency: d.currency, amount_minor: parsed.minor.toString(), booked_on: d.bookedOn ?? null });
  }
  for (let i = 0; i < rows.length; i += 1000) await trx('bank_debit').insert(rows.slice(i, i + 1000));
  return { debits: rows.length, unreadable: r.debits.length - rows.length };
}
