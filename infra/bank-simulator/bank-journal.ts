import fs from 'node:fs';
import path from 'node:path';
import { BankJournalCorruptError } from '../../runtime/errors';

/**
 * The bank simulator's durable memory: an append-only JSONL file, one record per line, each line
 * fsync'd before anything that depends on it happens. Replayed at start, so after kill -9 at any
 * point the simulator still knows every file MsgId it received, every EndToEndId it executed and
 * every report it wrote, and never executes a transfer twice.
 *
 * Two record types (version 1), amounts as the decimal strings of the file:
 *
 *   {"v":1,"seq":1,"type":"file","fileName":"M1.xml","receivedAs":"00000001-M1.xml",
 *    "decidedAt":"…Z","msgId":"M1","status":"ACCEPTED","nbOfTxs":"3","ctrlSum":"30.00",
 *    "pmtInfId":"M1","debtorAccount":"STS-SG-SETTLEMENT-0001","currency":"SGD",
 *    "transfers":[{"endToEndId":"E1","amount":"10.00","currency":"SGD","account":"ACC1",
 *                  "creditorName":"…","agent":"…","status":"ACSC"},
 *                 {…,"status":"RJCT","reason":"AC04","reasonText":"…"}],
 *    "unknownEndToEndIds":[],"duplicateReports":false,
 *    "reports":{"accepted":"BANKSIM-00000001","status":"BANKSIM-00000002",
 *               "notification":"BANKSIM-00000003"},
 *    "finalDueAt":"…Z"}
 *     The decision on one file, written once, in one line: the file's outcome (REJECTED files
 *     carry the group "reason"/"reasonText" and no transfers) and every transfer's outcome. A
 *     transfer with status ACSC IS the execution: the line is the unit of atomicity, so a file's
 *     transfers are executed all together or (torn line, cut at replay) not at all. The report
 *     MsgIds are assigned here, so a report rewritten after a crash keeps its MsgId.
 *   {"v":1,"seq":2,"type":"report","fileSeq":1,"msgId":"M1","kind":"accepted",
 *    "reportMsgId":"BANKSIM-00000001","file":"BANKSIM-00000001.xml","writtenAt":"…Z"}
 *     A report file is in the INBOUND folder (written atomically, directory fsync'd). kind is
 *     accepted | status | status-copy | notification | notification-copy.
 *
 * Recovery: a last line without its newline is a write torn by a crash; nothing acted on it, so
 * it is cut off. A damaged line anywhere else is refused (STS_GATEWAY_JOURNAL_CORRUPT, the code
 * the simulators' journals share): starting without it could execute its transfers again.
 */

export const JOURNAL_FILE = 'journal.jsonl';

export type ReportKind =
  'accepted' | 'status' | 'status-copy' | 'notification' | 'notification-copy';

export const REPORT_KINDS: readonly ReportKind[] = [
  'accepted',
  'status',
  'status-copy',
  'notification',
  'notification-copy',
];

export interface TransferRecord {
  endToEndId: string;
  amount: string;
  currency: string;
  account: string;
  creditorName?: string;
  agent?: string;
  status: 'ACSC' | 'RJCT';
  reason?: string;
  reasonText?: string;
}

export interface FileRecord {
  v: 1;
  seq: number;
  type: 'file';
  /** The name it had in the OUTBOUND folder. */
  fileName: string;
  /** Its name under <journal-dir>/received/. */
  receivedAs: string;
  decidedAt: string;
  /** GrpHdr/MsgId, or the file name without .xml when the MsgId could not be read. */
  msgId: string;
  status: 'ACCEPTED' | 'REJECTED';
  reason?: string;
  reasonText?: string;
  nbOfTxs?: string;
  ctrlSum?: string;
  pmtInfId?: string;
  debtorAccount?: string;
  currency?: string;
  transfers: TransferRecord[];
  unknownEndToEndIds: string[];
  duplicateReports: boolean;
  reports: { accepted?: string; status: string; notification?: string };
  /** When the final pain.002 and the camt.054 are due. */
  finalDueAt: string;
}

export interface ReportRecord {
  v: 1;
  seq: number;
  type: 'report';
  fileSeq: number;
  msgId: string;
  kind: ReportKind;
  reportMsgId: string;
  file: string;
  writtenAt: string;
}

export type FileDraft = Omit<FileRecord, 'v' | 'seq' | 'type'>;
export type ReportDraft = Omit<ReportRecord, 'v' | 'seq' | 'type' | 'writtenAt'>;

export interface ExecutionView {
  endToEndId: string;
  msgId: string;
  fileSeq: number;
  amount: string;
  currency: string;
  account: string;
  executedAt: string;
}

type JournalRecord = FileRecord | ReportRecord;

interface Pending {
  record: JournalRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export const REPORT_ID_PREFIX = 'BANKSIM-';

export function reportMsgId(n: number): string {
  return `${REPORT_ID_PREFIX}${String(n).padStart(8, '0')}`;
}

export class BankJournal {
  private readonly files: FileRecord[] = [];
  private readonly firstByMsgId = new Map<string, FileRecord>();
  private readonly receivedNames = new Set<string>();
  private readonly executions = new Map<string, ExecutionView[]>();
  private readonly writtenKinds = new Map<number, Set<ReportKind>>();
  private pending: Pending[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private failure: unknown;
  private lastSeq = 0;
  private lastReportNumber = 0;
  private maxPerEndToEndId = 0;
  private executionTotal = 0;
  private reportTotal = 0;

  private constructor(
    readonly file: string,
    private readonly fh: fs.promises.FileHandle,
  ) {}

  static async open(dir: string): Promise<BankJournal> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, JOURNAL_FILE);
    const existed = fs.existsSync(file);
    const records = existed ? readRecords(file) : [];
    const fh = await fs.promises.open(file, 'a');
    if (!existed) await fsyncDir(dir);
    const journal = new BankJournal(file, fh);
    for (const r of records) journal.index(r);
    return journal;
  }

  get size(): number {
    return this.lastSeq;
  }

  /** The journal could not be written; nothing more is decided or acknowledged. */
  get failed(): unknown {
    return this.failure;
  }

  get fileCount(): number {
    return this.files.length;
  }

  get executionCount(): number {
    return this.executionTotal;
  }

  get reportCount(): number {
    return this.reportTotal;
  }

  get maxExecutionsPerEndToEndId(): number {
    return this.maxPerEndToEndId;
  }

  allFiles(): readonly FileRecord[] {
    return this.files;
  }

  /** The first file received with this MsgId. */
  fileWithMsgId(msgId: string): FileRecord | undefined {
    return this.firstByMsgId.get(msgId);
  }

  isReceived(receivedAs: string): boolean {
    return this.receivedNames.has(receivedAs);
  }

  executionsOf(endToEndId: string): readonly ExecutionView[] {
    return this.executions.get(endToEndId) ?? [];
  }

  allExecutions(): ExecutionView[] {
    return [...this.executions.values()].flat().sort((a, b) => a.fileSeq - b.fileSeq);
  }

  written(fileSeq: number): ReadonlySet<ReportKind> {
    return this.writtenKinds.get(fileSeq) ?? new Set();
  }

  /** `n` new report MsgIds, unique across restarts once a decision holding them is durable. */
  allocateReportIds(n: number): string[] {
    return Array.from({ length: n }, () => reportMsgId(++this.lastReportNumber));
  }

  /** Resolves once the decision is on disk; only then may a report about it be written. */
  async appendFile(draft: FileDraft): Promise<FileRecord> {
    const record: FileRecord = { v: 1, seq: 0, type: 'file', ...draft };
    await this.append(record);
    return record;
  }

  async appendReport(draft: ReportDraft): Promise<ReportRecord> {
    const record: ReportRecord = {
      v: 1,
      seq: 0,
      type: 'report',
      ...draft,
      writtenAt: new Date().toISOString(),
    };
    await this.append(record);
    return record;
  }

  async close(): Promise<void> {
    await this.flushed;
    await this.fh.close();
  }

  private append(record: JournalRecord): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    record.seq = ++this.lastSeq;
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.flushed = this.flush();
      }
    });
  }

  /** Group commit, as in the gateway simulator's journal: one fsync for whatever queued meanwhile. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.fh.appendFile(batch.map((p) => `${JSON.stringify(p.record)}\n`).join(''));
        await this.fh.datasync();
      } catch (err) {
        // The file's tail is unknown after a failed write or fsync: stop acknowledging anything.
        this.failure = err;
        for (const p of [...batch, ...this.pending]) p.reject(err);
        this.pending = [];
        break;
      }
      for (const p of batch) {
        this.index(p.record);
        p.resolve();
      }
    }
    this.flushing = false;
  }

  private index(r: JournalRecord): void {
    this.lastSeq = Math.max(this.lastSeq, r.seq);
    if (r.type === 'report') {
      let kinds = this.writtenKinds.get(r.fileSeq);
      if (!kinds) this.writtenKinds.set(r.fileSeq, (kinds = new Set()));
      kinds.add(r.kind);
      this.reportTotal += 1;
      return;
    }
    this.files.push(r);
    if (!this.firstByMsgId.has(r.msgId)) this.firstByMsgId.set(r.msgId, r);
    this.receivedNames.add(r.receivedAs);
    for (const id of [r.reports.accepted, r.reports.status, r.reports.notification]) {
      const n = id === undefined ? 0 : Number(id.slice(REPORT_ID_PREFIX.length));
      this.lastReportNumber = Math.max(this.lastReportNumber, n);
    }
    for (const t of r.transfers) {
      if (t.status !== 'ACSC') continue;
      let list = this.executions.get(t.endToEndId);
      if (!list) this.executions.set(t.endToEndId, (list = []));
      list.push({
        endToEndId: t.endToEndId,
        msgId: r.msgId,
        fileSeq: r.seq,
        amount: t.amount,
        currency: t.currency,
        account: t.account,
        executedAt: r.decidedAt,
      });
      this.executionTotal += 1;
      this.maxPerEndToEndId = Math.max(this.maxPerEndToEndId, list.length);
    }
  }
}

const KINDS: ReadonlySet<string> = new Set(REPORT_KINDS);
const REPORT_ID = /^BANKSIM-\d{8,}$/;

function readRecords(file: string): JournalRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  const fileSeqs = new Set<number>();
  return lines.map((line, i) => {
    let r: Partial<FileRecord> | Partial<ReportRecord>;
    try {
      r = JSON.parse(line) as Partial<FileRecord> | Partial<ReportRecord>;
    } catch (err) {
      throw new BankJournalCorruptError(
        file,
        i + 1,
        err instanceof Error ? err.message : String(err),
      );
    }
    const bad = (why: string) => new BankJournalCorruptError(file, i + 1, why);
    if (r.v !== 1 || r.seq !== i + 1)
      throw bad(`unexpected version or sequence (want seq ${i + 1})`);
    if (r.type === 'file') {
      const f = r as Partial<FileRecord>;
      if (
        typeof f.msgId !== 'string' ||
        typeof f.receivedAs !== 'string' ||
        (f.status !== 'ACCEPTED' && f.status !== 'REJECTED') ||
        !Array.isArray(f.transfers) ||
        !Array.isArray(f.unknownEndToEndIds) ||
        typeof f.reports?.status !== 'string' ||
        !REPORT_ID.test(f.reports.status) ||
        typeof f.finalDueAt !== 'string'
      )
        throw bad('a file record without its msgId, status, transfers, reports or finalDueAt');
      for (const t of f.transfers) {
        if (
          typeof t?.endToEndId !== 'string' ||
          typeof t.amount !== 'string' ||
          (t.status !== 'ACSC' && t.status !== 'RJCT')
        )
          throw bad('a transfer without its endToEndId, amount or status');
      }
      fileSeqs.add(f.seq!);
    } else if (r.type === 'report') {
      const p = r as Partial<ReportRecord>;
      if (typeof p.fileSeq !== 'number' || !fileSeqs.has(p.fileSeq) || !KINDS.has(p.kind ?? ''))
        throw bad('a report record for no earlier file, or of an unknown kind');
    } else {
      throw bad(`unknown record type ${String(r.type)}`);
    }
    return r as JournalRecord;
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.promises.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
