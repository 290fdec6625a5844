import { BankJournalCorruptError } from '../stack-errors';
import { JsonlJournal } from '../jsonl-journal';

/**
 * The bank simulator's durable memory: a JSONL journal (infra/jsonl-journal.ts: group commit,
 * torn-tail recovery), one record per line, each line fsync'd before anything that depends on it
 * happens. Replayed at start, so after kill -9 at any point the simulator still knows every file
 * MsgId it received, every EndToEndId it executed and every report it wrote, and never executes a
 * transfer twice.
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
 * A damaged line other than a torn last one is refused (STS_BANK_JOURNAL_CORRUPT): starting
 * without it could execute its transfers again.
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
  private lastReportNumber = 0;
  private maxPerEndToEndId = 0;
  private executionTotal = 0;
  private reportTotal = 0;

  private constructor(private readonly log: JsonlJournal<JournalRecord>) {}

  static async open(dir: string): Promise<BankJournal> {
    const log = await JsonlJournal.open<JournalRecord>(dir, JOURNAL_FILE, {
      check: recordChecker(),
      corrupt: (file, line, detail) => new BankJournalCorruptError(file, line, detail),
    });
    const journal = new BankJournal(log);
    log.follow((r) => journal.index(r));
    return journal;
  }

  get file(): string {
    return this.log.file;
  }

  get size(): number {
    return this.log.lastSequence;
  }

  /** The journal could not be written; nothing more is decided or acknowledged. */
  get failed(): unknown {
    return this.log.failed;
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
  appendFile(draft: FileDraft): Promise<FileRecord> {
    return this.log.append((seq): FileRecord => ({ v: 1, seq, type: 'file', ...draft }));
  }

  appendReport(draft: ReportDraft): Promise<ReportRecord> {
    return this.log.append((seq): ReportRecord => ({
      v: 1,
      seq,
      type: 'report',
      ...draft,
      writtenAt: new Date().toISOString(),
    }));
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private index(r: JournalRecord): void {
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

/** The check of replayed lines; a report record must name a file record before it. */
function recordChecker(): (r: Partial<JournalRecord>, line: number) => string | undefined {
  const fileSeqs = new Set<number>();
  return (r, line) => {
    if (r.v !== 1 || r.seq !== line) return `unexpected version or sequence (want seq ${line})`;
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
        return 'a file record without its msgId, status, transfers, reports or finalDueAt';
      for (const t of f.transfers) {
        if (
          typeof t?.endToEndId !== 'string' ||
          typeof t.amount !== 'string' ||
          (t.status !== 'ACSC' && t.status !== 'RJCT')
        )
          return 'a transfer without its endToEndId, amount or status';
      }
      fileSeqs.add(line);
      return undefined;
    }
    if (r.type === 'report') {
      const p = r as Partial<ReportRecord>;
      if (typeof p.fileSeq !== 'number' || !fileSeqs.has(p.fileSeq) || !KINDS.has(p.kind ?? ''))
        return 'a report record for no earlier file, or of an unknown kind';
      return undefined;
    }
    return `unknown record type ${String(r.type)}`;
  };
}
