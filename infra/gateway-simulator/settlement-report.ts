import type {
  SettlementReportItem,
  SettlementReportPage,
} from '../../runtime/gateway/gateway-wire';
import type { ExecutionJournal, ExecutionRecord } from './execution-journal';

/**
 * GET /v1/payouts: what the gateway executed, in execution order, for reconciliation to compare
 * with our payouts. Pages follow the journal's sequence, so a page never shifts when new
 * executions arrive; `since` filters by execution time.
 */

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

export interface ReportQuery {
  /** ISO 8601 time or epoch milliseconds. */
  since?: string;
  /** 1..1000, default 100. */
  limit?: string;
  /** The next_cursor of the previous page. */
  cursor?: string;
}

/** The page, or a one-line reason for a 400. */
export function reportPage(
  journal: ExecutionJournal,
  query: ReportQuery,
): SettlementReportPage | string {
  const q = parseReportQuery(query);
  if (typeof q === 'string') return q;
  const records = journal.page(q.afterSeq, q.sinceMs, q.limit);
  const last = records[records.length - 1];
  const more = records.length === q.limit && last !== undefined && last.seq < journal.lastSequence;
  return { items: records.map(reportItem), next_cursor: more ? String(last.seq) : null };
}

/** The journal's own fields (format version, body fingerprint) stay out of the report. */
function reportItem(r: ExecutionRecord): SettlementReportItem {
  const item: SettlementReportItem & Partial<Pick<ExecutionRecord, 'v' | 'fp'>> = { ...r };
  delete item.v;
  delete item.fp;
  return item;
}

function parseReportQuery(
  q: ReportQuery,
): { sinceMs: number; limit: number; afterSeq: number } | string {
  let sinceMs = 0;
  if (q.since !== undefined && q.since !== '') {
    sinceMs = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
    if (!Number.isFinite(sinceMs)) return 'since must be an ISO 8601 time or epoch milliseconds';
  }
  const limit = q.limit === undefined ? DEFAULT_PAGE : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    return `limit must be an integer from 1 to ${MAX_PAGE}`;
  }
  const afterSeq = q.cursor === undefined || q.cursor === '' ? 0 : Number(q.cursor);
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    return 'cursor must be the next_cursor of a previous page';
  }
  return { sinceMs, limit, afterSeq };
}
