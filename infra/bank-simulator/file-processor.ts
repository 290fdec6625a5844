import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../runtime/logger';
import {
  REPORT_ID_PREFIX,
  type BankJournal,
  type FileDraft,
  type FileRecord,
  type ReportKind,
  type TransferRecord,
} from './bank-journal';
import type { FaultPlan } from './fault-plan';
import { moveFile, removeStaleTemps, writeFileAtomic } from './file-ops';
import { decimalUnits, readPain001, type Pain001Read } from './pain001-reader';
import {
  renderDebitNotification,
  renderStatusReport,
  type GroupStatus,
  type TxStatusLine,
} from './report-xml';
import type { SimStats } from './sim-stats';

/**
 * The bank's host-to-host side: every poll it takes the pain.001 files in the OUTBOUND folder,
 * oldest first, decides each one and writes its reports into the INBOUND folder.
 *
 * One file, step by step; a kill -9 between any two steps is finished by the next start:
 *   1. move   OUTBOUND/<name> -> <journal-dir>/received/<8-digit receipt>-<name> (rename, both
 *             directories fsync'd). A received file the journal does not know is decided at start.
 *   2. decide the whole outcome (duplicate MsgId, malformed, injected refusal, or each transfer
 *             executed or refused) goes into the journal as ONE line, fsync'd: that line is the
 *             execution, so no transfer can run twice or half a file run.
 *   3. report the ACCP pain.002 at once, then at finalDueAt (decision + reportDelayMs) the final
 *             pain.002 and the camt.054; each is written atomically and then journaled. A report
 *             written but not journaled is written again at start, with the same MsgId and bytes.
 * A refused file gets one pain.002 (GrpSts RJCT) and nothing else.
 *
 * Decision rules, in order: a MsgId received before -> RJCT AM05; a file readPain001 refuses ->
 * RJCT FF01; a pending rejectNextFiles fault -> RJCT fileRejectCode. Otherwise per transfer: an
 * EndToEndId executed before, in any file or earlier in this one -> RJCT AM05; a rejectEndToEndIds
 * fault -> RJCT with its code; a creditor account starting with INVALID -> RJCT AC04 (closed
 * account); a zero amount -> RJCT AM01; else executed (ACSC).
 */

export const INVALID_ACCOUNT_PREFIX = 'INVALID';
export const UNKNOWN_ID_PREFIX = 'UNSENT-';
const FILE_FAULT_TEXT = 'file refused by the bank simulator (fault rejectNextFiles)';
/** A failure repeated every poll is logged once a minute. */
const REPEAT_LOG_MS = 60_000;

export interface ProcessorOptions {
  outboundDir: string;
  inboundDir: string;
  receivedDir: string;
  pollMs: number;
  journal: BankJournal;
  faults: FaultPlan;
  stats: SimStats;
  logger: Logger;
}

interface ReportStep {
  kind: ReportKind;
  reportMsgId: string;
  file: string;
  final: boolean;
  render: () => string;
}

export class BankFileProcessor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Decided files with reports still to write, by journal seq. */
  private readonly pending = new Map<number, FileRecord>();
  private nextReceipt = 1;
  /** Set at start and after a failed decision: received/ holds a file the journal may not know. */
  private recoverNeeded = true;
  private lastLogged = { text: '', at: 0 };

  constructor(private readonly o: ProcessorOptions) {}

  get pendingReports(): number {
    return this.pending.size;
  }

  /** Recovers what a previous process left half done, runs one poll, and keeps polling. */
  async start(): Promise<void> {
    const { outboundDir, inboundDir, receivedDir, journal } = this.o;
    for (const dir of [outboundDir, inboundDir, receivedDir])
      await fs.mkdir(dir, { recursive: true });
    await removeStaleTemps(inboundDir, /^BANKSIM-/);
    await removeStaleTemps(receivedDir, /./);
    let last = 0;
    for (const f of journal.allFiles()) {
      last = Math.max(last, receiptNumber(f.receivedAs));
      if (this.reportSteps(f).some((s) => !journal.written(f.seq).has(s.kind)))
        this.pending.set(f.seq, f);
    }
    for (const name of await fs.readdir(receivedDir)) last = Math.max(last, receiptNumber(name));
    this.nextReceipt = last + 1;
    this.running = this.cycle();
    await this.running;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.cycle().finally(() => this.schedule());
    }, this.o.pollMs);
  }

  /** One poll: due reports first, then files left in received/, then the OUTBOUND folder. */
  private async cycle(): Promise<void> {
    try {
      await fs.mkdir(this.o.receivedDir, { recursive: true });
      await this.deliverDue();
      if (this.recoverNeeded) await this.recoverReceived();
      for (const name of await this.listOutbound()) {
        if (this.stopped || this.o.journal.failed !== undefined) break;
        await this.take(name);
      }
    } catch (err) {
      this.failed('poll', err);
    }
  }

  private async deliverDue(): Promise<void> {
    for (const record of [...this.pending.values()]) {
      if (this.stopped) return;
      try {
        await this.deliver(record);
      } catch (err) {
        this.failed(`reports of ${record.msgId}`, err);
      }
    }
  }

  /** `*.xml` files not starting with '.', oldest first (modification time, then name). */
  private async listOutbound(): Promise<string[]> {
    const entries = await fs
      .readdir(this.o.outboundDir, { withFileTypes: true })
      .catch(async (err) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await fs.mkdir(this.o.outboundDir, { recursive: true }); // removed under us: the drop box is back
        return [];
      });
    const files: Array<{ name: string; mtime: number }> = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.') || !/\.xml$/i.test(e.name)) continue;
      const st = await fs.stat(path.join(this.o.outboundDir, e.name)).catch(() => undefined);
      if (st) files.push({ name: e.name, mtime: st.mtimeMs });
    }
    files.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return files.map((f) => f.name);
  }

  private async take(name: string): Promise<void> {
    // Numbered before the move: a move that fails half way must not leave a number to reuse.
    const receivedAs = `${String(this.nextReceipt++).padStart(8, '0')}-${name}`;
    try {
      await moveFile(
        path.join(this.o.outboundDir, name),
        path.join(this.o.receivedDir, receivedAs),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // taken away meanwhile
      this.recoverNeeded = true;
      this.failed(`moving ${name}`, err);
      return;
    }
    this.o.stats.filesReceived += 1;
    await this.processReceived(name, receivedAs);
  }

  /** Files moved into received/ by a process that died before deciding them. */
  private async recoverReceived(): Promise<void> {
    const names = (await fs.readdir(this.o.receivedDir))
      .filter((n) => !n.startsWith('.') && receiptNumber(n) > 0 && !this.o.journal.isReceived(n))
      .sort();
    for (const receivedAs of names) {
      const original = receivedAs.slice(receivedAs.indexOf('-') + 1);
      // A move across file systems copies before it unlinks: finish one a crash interrupted.
      const left = path.join(this.o.outboundDir, original);
      const [a, b] = await Promise.all([
        fs.readFile(left).catch(() => undefined),
        fs.readFile(path.join(this.o.receivedDir, receivedAs)),
      ]);
      if (a && a.equals(b)) await fs.unlink(left);
      this.o.logger.warn({ receivedAs }, 'deciding a file received before a restart');
      this.o.stats.filesReceived += 1;
      await this.processReceived(original, receivedAs);
      if (this.o.journal.failed !== undefined) return;
    }
    this.recoverNeeded = false;
  }

  private async processReceived(fileName: string, receivedAs: string): Promise<void> {
    let record: FileRecord;
    try {
      const text = await fs.readFile(path.join(this.o.receivedDir, receivedAs), 'utf8');
      const read = readPain001(text.replace(/^\uFEFF/, ''));
      record = await this.o.journal.appendFile(this.decide(fileName, receivedAs, read));
    } catch (err) {
      this.recoverNeeded = true;
      this.failed(`deciding ${receivedAs}`, err);
      return;
    }
    this.count(record);
    this.o.logger.info(
      { msgId: record.msgId, status: record.status, reason: record.reason },
      'file decided',
    );
    this.pending.set(record.seq, record);
    try {
      await this.deliver(record);
    } catch (err) {
      this.failed(`reports of ${record.msgId}`, err);
    }
  }

  private decide(fileName: string, receivedAs: string, read: Pain001Read): FileDraft {
    const { journal, faults } = this.o;
    const now = new Date();
    const msgId = read.ok
      ? read.file.msgId
      : (read.msgId ?? fileName.replace(/\.xml$/i, '').slice(0, 35));
    const seen = journal.fileWithMsgId(msgId);
    const fileFaults = faults.takeForFile(read.ok && seen === undefined);
    const header = read.ok
      ? { nbOfTxs: read.file.nbOfTxs, ctrlSum: read.file.ctrlSum }
      : { nbOfTxs: read.nbOfTxs, ctrlSum: read.ctrlSum };
    const base = {
      fileName,
      receivedAs,
      decidedAt: now.toISOString(),
      msgId,
      ...(header.nbOfTxs === undefined ? {} : { nbOfTxs: header.nbOfTxs }),
      ...(header.ctrlSum === undefined ? {} : { ctrlSum: header.ctrlSum }),
      duplicateReports: fileFaults.duplicateReports,
    };
    const refuse = (reason: string, reasonText: string): FileDraft => ({
      ...base,
      status: 'REJECTED',
      reason,
      reasonText,
      transfers: [],
      unknownEndToEndIds: [],
      reports: { status: journal.allocateReportIds(1)[0]! },
      finalDueAt: base.decidedAt,
    });
    if (seen)
      return refuse(
        'AM05',
        `MsgId ${msgId} was received before (${seen.fileName}, ${seen.decidedAt})`,
      );
    if (!read.ok) return refuse('FF01', read.problem);
    if (fileFaults.fileReject !== undefined) return refuse(fileFaults.fileReject, FILE_FAULT_TEXT);

    const file = read.file;
    const executedHere = new Set<string>();
    const transfers = file.transfers.map((t): TransferRecord => {
      const earlier = journal.executionsOf(t.endToEndId)[0];
      const injected = faults.rejectCodeFor(t.endToEndId);
      let reason: string | undefined;
      let reasonText: string | undefined;
      if (earlier || executedHere.has(t.endToEndId)) {
        reason = 'AM05';
        reasonText = `EndToEndId ${t.endToEndId} was executed before (file ${earlier?.msgId ?? msgId})`;
      } else if (injected !== undefined) {
        reason = injected;
        reasonText = 'transfer refused by the bank simulator (fault rejectEndToEndIds)';
      } else if (t.account.startsWith(INVALID_ACCOUNT_PREFIX)) {
        reason = 'AC04';
        reasonText = 'creditor account closed';
      } else if (decimalUnits(t.amount) === 0n) {
        reason = 'AM01';
        reasonText = 'zero amount';
      }
      if (reason === undefined) executedHere.add(t.endToEndId);
      return {
        endToEndId: t.endToEndId,
        amount: t.amount,
        currency: t.currency,
        account: t.account,
        ...(t.creditorName === undefined ? {} : { creditorName: t.creditorName }),
        ...(t.agent === undefined ? {} : { agent: t.agent }),
        ...(reason === undefined
          ? { status: 'ACSC' as const }
          : { status: 'RJCT' as const, reason, reasonText }),
      };
    });
    const [accepted, status, notification] = journal.allocateReportIds(
      executedHere.size > 0 ? 3 : 2,
    );
    const unknown = faults.takeUnknownEndToEndIds();
    return {
      ...base,
      status: 'ACCEPTED',
      pmtInfId: file.pmtInfId,
      debtorAccount: file.debtorAccount,
      currency: file.debtorCurrency,
      transfers,
      unknownEndToEndIds: Array.from(
        { length: unknown },
        (_, i) => `${UNKNOWN_ID_PREFIX}${status!.slice(REPORT_ID_PREFIX.length)}-${i + 1}`,
      ),
      reports: { accepted, status: status!, ...(notification ? { notification } : {}) },
      finalDueAt: new Date(now.getTime() + fileFaults.reportDelayMs).toISOString(),
    };
  }

  private count(r: FileRecord): void {
    const s = this.o.stats;
    if (r.status === 'REJECTED') {
      s.filesRejected += 1;
      if (r.reason === 'AM05') s.duplicatesRefused += 1;
      else if (r.reason === 'FF01' && r.reasonText !== FILE_FAULT_TEXT) s.malformedFiles += 1;
      return;
    }
    s.filesAccepted += 1;
    for (const t of r.transfers) {
      if (t.status === 'ACSC') s.transfersExecuted += 1;
      else s.transfersRejected += 1;
    }
    s.unknownLinesReported += r.unknownEndToEndIds.length;
  }

  /** Writes the record's reports not yet journaled as written, as far as they are due. */
  private async deliver(record: FileRecord): Promise<void> {
    const written = this.o.journal.written(record.seq);
    for (const step of this.reportSteps(record)) {
      if (written.has(step.kind)) continue;
      if (step.final && Date.now() < Date.parse(record.finalDueAt)) return;
      await fs.mkdir(this.o.inboundDir, { recursive: true });
      await writeFileAtomic(path.join(this.o.inboundDir, step.file), step.render());
      await this.o.journal.appendReport({
        fileSeq: record.seq,
        msgId: record.msgId,
        kind: step.kind,
        reportMsgId: step.reportMsgId,
        file: step.file,
      });
      this.o.stats.reportsWritten += 1;
    }
    this.pending.delete(record.seq);
  }

  /** The reports a decided file gets, in the order they are written. */
  private reportSteps(r: FileRecord): ReportStep[] {
    const steps: ReportStep[] = [];
    const add = (kind: ReportKind, id: string, final: boolean, render: () => string) => {
      steps.push({ kind, reportMsgId: id, file: `${id}.xml`, final, render });
      if (final && r.duplicateReports)
        steps.push({
          kind: `${kind}-copy` as ReportKind,
          reportMsgId: id,
          file: `${id}-copy.xml`,
          final,
          render,
        });
    };
    const finalAt = isoSeconds(r.finalDueAt);
    const group = {
      orgnlMsgId: r.msgId,
      ...(r.nbOfTxs === undefined ? {} : { orgnlNbOfTxs: r.nbOfTxs }),
      ...(r.ctrlSum === undefined ? {} : { orgnlCtrlSum: r.ctrlSum }),
    };
    if (r.status === 'REJECTED') {
      add('status', r.reports.status, true, () =>
        renderStatusReport({
          msgId: r.reports.status,
          creDtTm: finalAt,
          ...group,
          groupStatus: 'RJCT',
          groupReason: r.reason ?? 'FF01',
          ...(r.reasonText === undefined ? {} : { groupReasonText: r.reasonText }),
        }),
      );
      return steps;
    }
    const accepted = r.reports.accepted!;
    add('accepted', accepted, false, () =>
      renderStatusReport({
        msgId: accepted,
        creDtTm: isoSeconds(r.decidedAt),
        ...group,
        groupStatus: 'ACCP',
      }),
    );
    const executed = r.transfers.filter((t) => t.status === 'ACSC');
    const groupStatus: GroupStatus =
      executed.length === r.transfers.length ? 'ACSC' : executed.length === 0 ? 'RJCT' : 'PART';
    const lines: TxStatusLine[] = r.transfers.map((t) => ({
      endToEndId: t.endToEndId,
      status: t.status,
      ...(t.reason === undefined ? {} : { reason: t.reason }),
      ...(t.reasonText === undefined ? {} : { reasonText: t.reasonText }),
      amount: t.amount,
      currency: t.currency,
    }));
    for (const id of r.unknownEndToEndIds)
      lines.push({ endToEndId: id, status: 'ACSC', amount: '1', currency: r.currency ?? 'XXX' });
    add('status', r.reports.status, true, () =>
      renderStatusReport({
        msgId: r.reports.status,
        creDtTm: finalAt,
        ...group,
        groupStatus,
        payment: { pmtInfId: r.pmtInfId ?? r.msgId, lines },
      }),
    );
    const notification = r.reports.notification;
    if (notification !== undefined && executed.length > 0)
      add('notification', notification, true, () =>
        renderDebitNotification({
          msgId: notification,
          creDtTm: finalAt,
          account: r.debtorAccount ?? '',
          currency: r.currency ?? executed[0]!.currency,
          bookingDate: r.decidedAt.slice(0, 10),
          orgnlMsgId: r.msgId,
          pmtInfId: r.pmtInfId ?? r.msgId,
          entries: executed.map((t) => ({
            endToEndId: t.endToEndId,
            amount: t.amount,
            currency: t.currency,
          })),
        }),
      );
    return steps;
  }

  private failed(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const text = `${what}: ${message}`;
    this.o.stats.errors += 1;
    this.o.stats.lastError = text;
    if (text === this.lastLogged.text && Date.now() - this.lastLogged.at < REPEAT_LOG_MS) return;
    this.lastLogged = { text, at: Date.now() };
    this.o.logger.error({ err }, `${what} failed; retrying on the next poll`);
  }
}

/** The receipt number a received/ file name starts with, or 0. */
function receiptNumber(name: string): number {
  const m = /^(\d{8,})-/.exec(name);
  return m ? Number(m[1]) : 0;
}

/** ISODateTime without milliseconds, as the marketplace writes it. */
function isoSeconds(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}
