import { formatMoney } from '../../runtime/money/money-text';
import type { TraceEntry, TraceResult } from '../../services/trace/trace-types';

/**
 * `sts trace` for a person: the five steps as a timeline, one line per entry with its UTC time,
 * money as money ("SGD 2,353.79"). Programs use --json, which keeps minor units.
 */
export function traceTimeline(t: TraceResult): string {
  const lines = [headline(t)];
  t.steps.forEach((s, i) => {
    lines.push('', `${i + 1}. ${s.title}`);
    if (s.entries.length === 0) lines.push('   (nothing stored)');
    for (const e of s.entries) lines.push(`   ${time(e.at)}  ${describe(e)}`);
  });
  if (t.truncated) lines.push('', 'items were cut at the limit; the account line gives the exact balance and item count');
  return lines.join('\n');
}

function headline(t: TraceResult): string {
  const s = t.subject;
  const what = s.matchedAs && s.matchedAs !== s.kind ? ` (matched as ${s.matchedAs})` : '';
  const accounts = s.accounts.map((a) => `${a.region} cycle ${a.cycleId} seller ${a.shopUserId} ${a.currency}`).join('; ');
  return `trace ${s.kind} ${s.id}${what}: ${accounts}`;
}

const time = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

function describe(e: TraceEntry): string {
  switch (e.kind) {
    case 'ORDER_EVENT':
      return `order event ${e.eventId}${e.orderId === null ? '' : ` (order ${e.orderId})`} from ${e.topic === null ? 'an unrecorded position' : `${e.topic} partition ${e.partition} offset ${e.offset}`}`;
    case 'UPLOAD_ROW':
      return `upload row ${e.rowNumber ?? '?'} of upload ${e.uploadId ?? '?'}${e.fileName ? ` (${e.fileName}, by ${e.uploadedBy})` : ''}, external_ref ${e.externalRef}`;
    case 'ITEM':
      return `${e.itemType} ${formatMoney(e.amountMinor, e.currency)} from ${e.source} ${e.sourceRef}${e.orderId === null ? '' : `, order ${e.orderId}`}, seller ${e.shopUserId}, cycle ${e.cycleId}${e.late ? ', LATE (its own cycle had closed)' : ''}`;
    case 'COMMISSION_CHARGE':
      return `commission on order ${e.orderId} of ${formatMoney(e.orderAmountMinor, e.currency)}: fee ${formatMoney(e.feeMinor, e.currency)}${e.affiliateUserId === null ? '' : `, affiliate ${e.affiliateUserId} credited ${formatMoney(e.affiliateCreditMinor, e.currency)}`}, rule ${e.region}/${e.ruleCategory} v${e.ruleVersion}`;
    case 'COMMISSION_CLAWBACK': {
      const money = (m: bigint) => (e.currency === null ? `${m} (minor units)` : formatMoney(m, e.currency));
      return `clawback for refund ${e.requestId} of ${money(e.refundAmountMinor)} on order ${e.orderId}: fee ${money(e.feeClawbackMinor)} back, affiliate ${money(e.affiliateClawbackMinor)}${e.ruleVersion === null ? '' : `, charged under rule v${e.ruleVersion}`}`;
    }
    case 'ACCOUNT':
      return `balance ${formatMoney(e.balanceMinor, e.currency)} over ${e.itemCount} items (${e.region} cycle ${e.cycleId}, seller ${e.shopUserId})`;
    case 'PAYOUT':
      return `payout ${e.payoutId} ${formatMoney(e.amountMinor, e.currency)} ${e.status} on ${e.rail}${e.holdReason ? `, held: ${e.holdReason}` : ''}${e.holdDecidedBy ? `, decided by ${e.holdDecidedBy}` : ''}`;
    case 'CARRY_FORWARD':
      return `carried ${formatMoney(e.amountMinor, e.currency)} from cycle ${e.fromCycleId} into cycle ${e.toCycleId} (item ${e.itemId})`;
    case 'SELLER_HOLD':
      return `seller ${e.shopUserId} on hold in ${e.region}: ${e.reason}`;
    case 'SUBMISSION':
      return `sent to the gateway for payee ${e.payeeAccount} (payout event ${e.sourceTopic} partition ${e.sourcePartition} offset ${e.sourceOffset})${e.escalatedAt ? `, escalated ${e.escalationCode ?? ''}` : ''}${e.blocked ? ', blocked for ops' : ''}`;
    case 'PAYOUT_RESULT':
      return `${e.status} on ${e.rail} after ${e.attempts} attempt(s)${e.gatewayReference ? `, reference ${e.gatewayReference}` : ''}${e.failureCode ? `, failure ${e.failureCode}` : ''}`;
    case 'TCC':
      return `payment ledger transaction ${e.txId} ${e.state} for ${formatMoney(e.amountMinor, e.currency)}`;
    case 'POSTING':
      return `posting ${e.phase}: ${e.debitAccount} -> ${e.creditAccount} ${formatMoney(e.amountMinor, e.currency)}`;
    case 'BANK_FILE':
      return `bank file ${e.msgId} ${e.status}${e.bankStatus ? ` (bank: ${e.bankStatus})` : ''}, ${e.txCount} transfers, ${formatMoney(e.ctrlSumMinor, e.currency)}`;
    case 'BANK_REPORT':
      return `bank ${e.reportKind} ${e.msgId}: ${e.groupStatus ?? '-'} (${e.fileName})`;
    case 'BANK_DEBIT':
      return `bank debit ${formatMoney(e.amountMinor, e.currency)} booked ${e.bookedOn ?? '-'} (report ${e.reportMsgId})`;
    case 'BANK_REPORT_ISSUE':
      return `bank report ${e.reportMsgId} ${e.issueKind}: ${e.detail}`;
    case 'PAYOUT_RETURN':
      return `returned ${formatMoney(e.amountMinor, e.currency)} to the balance of cycle ${e.cycleId} (item ${e.itemId})`;
    case 'FINDING':
      return `finding ${e.severity} ${e.rule} ${e.entity}: ${e.detail}${e.resolvedAt ? ` (resolved ${time(e.resolvedAt)})` : ' (open)'}`;
    case 'AUDIT':
      return `${e.action} on ${e.target ?? '-'} by ${e.actor}${e.role ? ` (${e.role})` : ''}${e.status === null ? '' : ` -> ${e.status}`}`;
  }
}
