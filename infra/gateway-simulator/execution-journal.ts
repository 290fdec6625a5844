import { GatewayJournalCorruptError } from '../stack-errors';
import type { PayoutStatus, SettlementReportItem } from '../../runtime/gateway/gateway-wire';
import { JsonlJournal } from '../jsonl-journal';

/**
 * The simulator's durable record of every payout it executed or rejected: a JSONL journal
 * (infra/jsonl-journal.ts: group commit, torn-tail recovery), one record per line, fsync'd before
 * the HTTP answer leaves. The in-memory indexes are rebuilt from the file at start, so an
 * idempotency key survives kill -9 and a restart; nothing is answered from memory that is not
 * already on disk.
 *
 * Line format (version 1), ids and amounts as decimal strings:
 *   {"v":1,"seq":7,"key":"…","fp":"<sha256>","payout_id":"652024209997893632","shop_user_id":"…",
 *    "currency":"SGD","amount_minor":"1250","account":"…","status":"EXECUTED","reference":"GW…",
 *    "executed_at":"2024-05-01T00:00:00.000Z"}            (+ "failure_code" when REJECTED)
 *
 * A damaged line other than a torn last one is refused (STS_GATEWAY_JOURNAL_CORRUPT).
 */

export interface ExecutionRecord extends SettlementReportItem {
  v: 1;
  /** sha256 of the canonical instruction (payout-request.ts), to detect a reused key. */
  fp: string;
}

export type ExecutionDraft = Omit<ExecutionRecord, 'v' | 'seq' | 'executed_at' | 'reference'>;

export const JOURNAL_FILE = 'executions.jsonl';

export class ExecutionJournal {
  private readonly byKey = new Map<string, ExecutionRecord>();
  private readonly perKeyCount = new Map<string, number>();
  private readonly ordered: ExecutionRecord[] = [];
  private maxPerKey = 0;

  private constructor(private readonly log: JsonlJournal<ExecutionRecord>) {}

  static async open(dir: string): Promise<ExecutionJournal> {
    const log = await JsonlJournal.open<ExecutionRecord>(dir, JOURNAL_FILE, {
      check: recordProblem,
      corrupt: (file, line, detail) => new GatewayJournalCorruptError(file, line, detail),
    });
    const journal = new ExecutionJournal(log);
    log.follow((r) => journal.index(r));
    return journal;
  }

  get file(): string {
    return this.log.file;
  }

  /** fsync rounds and the largest batch one round carried: evidence that group commit works. */
  get commits(): { readonly rounds: number; readonly maxBatch: number } {
    return this.log.commits;
  }

  get size(): number {
    return this.ordered.length;
  }

  get(key: string): ExecutionRecord | undefined {
    return this.byKey.get(key);
  }

  /** How many records the journal holds for a key; more than 1 would mean a double execution. */
  executionCount(key: string): number {
    return this.perKeyCount.get(key) ?? 0;
  }

  get maxExecutionsPerKey(): number {
    return this.maxPerKey;
  }

  /** Records in execution order with seq > afterSeq and executed at or after sinceMs. */
  page(afterSeq: number, sinceMs: number, limit: number): ExecutionRecord[] {
    // seq starts at 1 and has no gaps, so the record after `afterSeq` sits at index afterSeq.
    const out: ExecutionRecord[] = [];
    for (let i = Math.max(0, afterSeq); i < this.ordered.length && out.length < limit; i++) {
      const r = this.ordered[i]!;
      if (Date.parse(r.executed_at) >= sinceMs) out.push(r);
    }
    return out;
  }

  get lastSequence(): number {
    return this.log.lastSequence;
  }

  /** Resolves once the record is on disk; only then may the caller answer the request. */
  append(draft: ExecutionDraft): Promise<ExecutionRecord> {
    // Fields are listed one by one so nothing but the record format can reach the file.
    return this.log.append((seq) => ({
      v: 1,
      seq,
      key: draft.key,
      fp: draft.fp,
      payout_id: draft.payout_id,
      shop_user_id: draft.shop_user_id,
      currency: draft.currency,
      amount_minor: draft.amount_minor,
      account: draft.account,
      status: draft.status,
      ...(draft.failure_code === undefined ? {} : { failure_code: draft.failure_code }),
      reference: `GW${String(seq).padStart(12, '0')}`,
      executed_at: new Date().toISOString(),
    }));
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private index(r: ExecutionRecord): void {
    if (!this.byKey.has(r.key)) this.byKey.set(r.key, r);
    const count = (this.perKeyCount.get(r.key) ?? 0) + 1;
    this.perKeyCount.set(r.key, count);
    this.maxPerKey = Math.max(this.maxPerKey, count);
    this.ordered.push(r);
  }
}

const STATUSES: ReadonlySet<PayoutStatus> = new Set(['EXECUTED', 'REJECTED']);

function recordProblem(r: Partial<ExecutionRecord>, line: number): string | undefined {
  const ok =
    r.v === 1 &&
    r.seq === line &&
    typeof r.key === 'string' &&
    STATUSES.has(r.status as PayoutStatus) &&
    typeof r.amount_minor === 'string';
  return ok ? undefined : `unexpected record shape or sequence (want seq ${line})`;
}
