import { GatewayJournalCorruptError } from '../../runtime/errors';
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

interface Pending {
  record: ExecutionRecord;
  resolve: (r: ExecutionRecord) => void;
  reject: (err: unknown) => void;
}

export const JOURNAL_FILE = 'executions.jsonl';

export class ExecutionJournal {
  private readonly byKey = new Map<string, ExecutionRecord>();
  private readonly perKeyCount = new Map<string, number>();
  private readonly ordered: ExecutionRecord[] = [];
  private pending: Pending[] = [];
  /** Set and cleared synchronously around the flush loop, so no append can slip between rounds. */
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private failure: unknown;
  private lastSeq = 0;
  private maxPerKey = 0;
  /** fsync rounds and the largest batch one round carried: evidence that group commit works. */
  readonly commits = { rounds: 0, maxBatch: 0 };

  private constructor(
    readonly file: string,
    private readonly fh: fs.promises.FileHandle,
  ) {}

  static async open(dir: string): Promise<ExecutionJournal> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, JOURNAL_FILE);
    const existed = fs.existsSync(file);
    const records = existed ? readRecords(file) : [];
    const fh = await fs.promises.open(file, 'a');
    if (!existed) await fsyncDir(dir);
    const journal = new ExecutionJournal(file, fh);
    for (const r of records) journal.index(r);
    return journal;
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
    return this.lastSeq;
  }

  /** Resolves once the record is on disk; only then may the caller answer the request. */
  append(draft: ExecutionDraft): Promise<ExecutionRecord> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = ++this.lastSeq;
    // Fields are listed one by one so nothing but the record format can reach the file.
    const record: ExecutionRecord = {
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
    };
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.flushed = this.flush();
      }
    });
  }

  async close(): Promise<void> {
    await this.flushed;
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.fh.appendFile(batch.map((p) => `${JSON.stringify(p.record)}\n`).join(''));
        await this.fh.datasync();
      } catch (err) {
        // After a failed write or fsync the file's tail is unknown (the kernel may have dropped
        // the dirty pages), so the journal stops acknowledging anything, like PostgreSQL's fsync panic.
        this.failure = err;
        for (const p of [...batch, ...this.pending]) p.reject(err);
        this.pending = [];
        break;
      }
      this.commits.rounds += 1;
      this.commits.maxBatch = Math.max(this.commits.maxBatch, batch.length);
      for (const p of batch) {
        this.index(p.record);
        p.resolve(p.record);
      }
    }
    // No await between the loop's last check and this line: an append can never be stranded.
    this.flushing = false;
  }

  private index(r: ExecutionRecord): void {
    if (!this.byKey.has(r.key)) this.byKey.set(r.key, r);
    const count = (this.perKeyCount.get(r.key) ?? 0) + 1;
    this.perKeyCount.set(r.key, count);
    this.maxPerKey = Math.max(this.maxPerKey, count);
    this.ordered.push(r);
    this.lastSeq = Math.max(this.lastSeq, r.seq);
  }
}

const STATUSES: ReadonlySet<PayoutStatus> = new Set(['EXECUTED', 'REJECTED']);

function readRecords(file: string): ExecutionRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  return lines.map((line, i) => {
    let r: Partial<ExecutionRecord>;
    try {
      r = JSON.parse(line) as Partial<ExecutionRecord>;
    } catch (err) {
      throw new GatewayJournalCorruptError(
        file,
        i + 1,
        err instanceof Error ? err.message : String(err),
      );
    }
    if (
      r.v !== 1 ||
      r.seq !== i + 1 ||
      typeof r.key !== 'string' ||
      !STATUSES.has(r.status as PayoutStatus) ||
      typeof r.amount_minor !== 'string'
    ) {
      throw new GatewayJournalCorruptError(
        file,
        i + 1,
        `unexpected record shape or sequence (want seq ${i + 1})`,
      );
    }
    return r as ExecutionRecord;
  });
}

/** A new file's directory entry is only durable once the directory itself is fsync'd. */
async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.promises.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
