import type { Knex } from '../../runtime/db/knex';
import type { TraceEntry } from './trace-types';
import type { PayoutRow } from './close-reader';
import { itemByKey } from './item-reader';
import { big, dateOrNull, int64Literal } from './trace-sql';

/**
 * Step 4, how one payout was paid, each read by the payout's id or its file's MsgId:
 * payout_submission and tcc_state (primary keys, = payout id), fund_movement (primary key prefix
 * tx_id), the bank file (bank_file's primary key), the bank's reports on that file
 * (ix_bank_report_orgnl), its debits and issues for this payout (by EndToEndId, which is the
 * payout id), and the PAYOUT_RETURN item a refused or cancelled payout gave back.
 */

/** Statuses after which the payout's own row carries a payment result worth showing. */
const PAID_OR_TRIED = new Set(['SUBMITTED', 'PAID', 'FAILED', 'CANCELLED']);

export async function paymentOf(db: Knex, p: PayoutRow): Promise<TraceEntry[]> {
  const id = big(p.id);
  const lit = int64Literal(id);
  const out: TraceEntry[] = [];

  const [subs] = (await db.raw(
    `SELECT payout_id, payee_account, source_topic, source_partition, source_offset, created_at, escalated_at, escalation_code, blocked FROM payout_submission WHERE payout_id = ${lit}`,
  )) as [Array<{ payee_account: string; source_topic: string; source_partition: number; source_offset: string; created_at: Date; escalated_at: Date | null; escalation_code: string | null; blocked: number }>];
  for (const s of subs)
    out.push({
      kind: 'SUBMISSION',
      at: new Date(s.created_at),
      payoutId: id,
      payeeAccount: s.payee_account,
      sourceTopic: s.source_topic,
      sourcePartition: Number(s.source_partition),
      sourceOffset: big(s.source_offset),
      escalatedAt: dateOrNull(s.escalated_at),
      escalationCode: s.escalation_code,
      blocked: Number(s.blocked) === 1,
    });

  if (PAID_OR_TRIED.has(p.status) || p.attempts > 0)
    out.push({
      kind: 'PAYOUT_RESULT',
      at: new Date(p.decided_at ?? p.updated_at),
      payoutId: id,
      status: p.status,
      rail: p.rail,
      attempts: Number(p.attempts),
      gatewayReference: p.gateway_reference,
      failureCode: p.failure_code,
      decidedAt: dateOrNull(p.decided_at),
    });

  const [tcc] = (await db.raw(`SELECT tx_id, currency, amount_minor, state, created_at, resolved_at FROM tcc_state WHERE tx_id = ${lit}`)) as [
    Array<{ currency: string; amount_minor: string; state: string; created_at: Date; resolved_at: Date | null }>,
  ];
  for (const t of tcc)
    out.push({ kind: 'TCC', at: new Date(t.created_at), txId: id, state: t.state, currency: t.currency, amountMinor: big(t.amount_minor), resolvedAt: dateOrNull(t.resolved_at) });

  const [moves] = (await db.raw(`SELECT phase, debit_account, credit_account, currency, amount_minor, created_at FROM fund_movement WHERE tx_id = ${lit}`)) as [
    Array<{ phase: string; debit_account: string; credit_account: string; currency: string; amount_minor: string; created_at: Date }>,
  ];
  for (const m of moves)
    out.push({ kind: 'POSTING', at: new Date(m.created_at), txId: id, phase: m.phase, debitAccount: m.debit_account, creditAccount: m.credit_account, currency: m.currency, amountMinor: big(m.amount_minor) });

  if (p.bank_msg_id !== null) out.push(...(await bankRailOf(db, p.bank_msg_id, p.id)));

  const returned = await itemByKey(db, p.region, 'PAYOUT_RETURN', p.id);
  if (returned)
    out.push({ kind: 'PAYOUT_RETURN', at: new Date(returned.created_at), itemId: big(returned.id), payoutId: id, region: returned.region, cycleId: big(returned.cycle_id), currency: returned.currency, amountMinor: big(returned.amount_minor) });
  return out;
}

async function bankRailOf(db: Knex, msgId: string, endToEndId: string): Promise<TraceEntry[]> {
  const out: TraceEntry[] = [];
  const [files] = (await db.raw(
    'SELECT msg_id, region, currency, status, bank_status, tx_count, ctrl_sum_minor, created_at, written_at, submitted_at, transmitted_at FROM bank_file WHERE msg_id = ?',
    [msgId],
  )) as [Array<{ msg_id: string; region: string; currency: string; status: string; bank_status: string | null; tx_count: number; ctrl_sum_minor: string; created_at: Date; written_at: Date | null; submitted_at: Date | null; transmitted_at: Date | null }>];
  for (const f of files)
    out.push({
      kind: 'BANK_FILE',
      at: new Date(f.created_at),
      msgId: f.msg_id,
      region: f.region,
      currency: f.currency,
      status: f.status,
      bankStatus: f.bank_status,
      txCount: Number(f.tx_count),
      ctrlSumMinor: big(f.ctrl_sum_minor),
      writtenAt: dateOrNull(f.written_at),
      submittedAt: dateOrNull(f.submitted_at),
      transmittedAt: dateOrNull(f.transmitted_at),
    });

  const [reports] = (await db.raw('SELECT msg_id, kind, orgnl_msg_id, group_status, file_name, applied_at FROM bank_report FORCE INDEX (ix_bank_report_orgnl) WHERE orgnl_msg_id = ?', [msgId])) as [
    Array<{ msg_id: string; kind: string; orgnl_msg_id: string | null; group_status: string | null; file_name: string; applied_at: Date }>,
  ];
  for (const r of reports)
    out.push({ kind: 'BANK_REPORT', at: new Date(r.applied_at), msgId: r.msg_id, reportKind: r.kind, orgnlMsgId: r.orgnl_msg_id, groupStatus: r.group_status, fileName: r.file_name });

  // A camt.054 names no file (orgnl_msg_id may be null), so its debits are found by EndToEndId.
  const [debits] = (await db.raw(
    `SELECT d.report_msg_id, d.end_to_end_id, d.currency, d.amount_minor, CAST(d.booked_on AS CHAR) AS booked_on, r.applied_at
       FROM bank_debit d FORCE INDEX (ix_bank_debit_e2e) LEFT JOIN bank_report r ON r.msg_id = d.report_msg_id
      WHERE d.end_to_end_id = ?`,
    [endToEndId],
  )) as [Array<{ report_msg_id: string; end_to_end_id: string; currency: string; amount_minor: string; booked_on: string | null; applied_at: Date | null }>];
  for (const d of debits)
    out.push({ kind: 'BANK_DEBIT', at: new Date(d.applied_at ?? 0), reportMsgId: d.report_msg_id, endToEndId: d.end_to_end_id, currency: d.currency, amountMinor: big(d.amount_minor), bookedOn: d.booked_on });

  const [issues] = (await db.raw('SELECT report_msg_id, end_to_end_id, kind, detail, created_at FROM bank_report_issue FORCE INDEX (ix_bank_report_issue_e2e) WHERE end_to_end_id = ?', [endToEndId])) as [
    Array<{ report_msg_id: string; end_to_end_id: string | null; kind: string; detail: string; created_at: Date }>,
  ];
  for (const i of issues)
    out.push({ kind: 'BANK_REPORT_ISSUE', at: new Date(i.created_at), reportMsgId: i.report_msg_id, endToEndId: i.end_to_end_id, issueKind: i.kind, detail: i.detail });
  return out;
}
