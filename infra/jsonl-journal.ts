import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory } from '../runtime/fs/sync-directory';

/**
 * The durable memory of the simulators (gateway-simulator/execution-journal.ts,
 * bank-simulator/bank-journal.ts): an append-only JSONL file, one record per line, numbered by
 * `seq` from 1. Each journal keeps its own record types, checks and indexes; this is the mechanism
 * they share.
 *
 * Durability: an append resolves only once its line is fsync'd, so nothing is answered or acted on
 * that is not already on disk. A new file's directory is fsync'd as well, or a crash could lose
 * the file's name.
 *
 * Group commit: appends that arrive while an fsync runs are written and fsync'd together by the
 * next round, so one fsync covers many appends and throughput follows the disk's fsync rate times
 * the concurrency, not the fsync rate alone.
 *
 * Recovery: a last line without its newline is a write torn by a crash; it was never acknowledged
 * and nothing acted on it, so it is cut off. A damaged line anywhere else is refused with the
 * journal's own corruption error: starting without it would forget what it recorded.
 */

export interface JournalFormat<R> {
  /** Why a line that parsed as JSON is not a record (line counts from 1), or undefined. */
  check(record: Partial<R>, line: number): string | undefined;
  /** The journal's corruption error; its code names the simulator whose journal it is. */
  corrupt(file: string, line: number, detail: string): Error;
}

interface Pending<R> {
  record: R;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class JsonlJournal<R extends { seq: number }> {
  private pending: Array<Pending<R>> = [];
  /** Set and cleared synchronously around the flush loop, so no append can slip between rounds. */
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private failure: unknown;
  private lastSeq = 0;
  private index: (record: R) => void = () => undefined;
  /** fsync rounds and the largest batch one round carried: evidence that group commit works. */
  readonly commits = { rounds: 0, maxBatch: 0 };

  private constructor(
    readonly file: string,
    private readonly fh: fs.promises.FileHandle,
    private replayed: R[],
  ) {
    for (const r of replayed) this.lastSeq = Math.max(this.lastSeq, r.seq);
  }

  static async open<R extends { seq: number }>(
    dir: string,
    fileName: string,
    format: JournalFormat<R>,
  ): Promise<JsonlJournal<R>> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, fileName);
    const existed = fs.existsSync(file);
    const records = existed ? readRecords(file, format) : [];
    const fh = await fs.promises.open(file, 'a');
    if (!existed) await syncDirectory(dir);
    return new JsonlJournal(file, fh, records);
  }

  /**
   * Hands `index` every record the file held, in order, and from then on each appended record once
   * it is on disk and before its append resolves: an index never holds what the disk does not, and
   * never lags behind an acknowledged append.
   */
  follow(index: (record: R) => void): void {
    this.index = index;
    for (const r of this.replayed) index(r);
    this.replayed = [];
  }

  get lastSequence(): number {
    return this.lastSeq;
  }

  /** The journal could not be written; nothing more is acknowledged. */
  get failed(): unknown {
    return this.failure;
  }

  /** Resolves with the record (built by `make` around the next seq) once it is on disk. */
  append<T extends R>(make: (seq: number) => T): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const record = make(++this.lastSeq);
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve: () => resolve(record), reject });
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
        p.resolve();
      }
    }
    // No await between the loop's last check and this line: an append can never be stranded.
    this.flushing = false;
  }
}

function readRecords<R>(file: string, format: JournalFormat<R>): R[] {
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  return lines.map((line, i) => {
    let record: Partial<R>;
    try {
      record = JSON.parse(line) as Partial<R>;
    } catch (err) {
      throw format.corrupt(file, i + 1, err instanceof Error ? err.message : String(err));
    }
    const problem = format.check(record, i + 1);
    if (problem !== undefined) throw format.corrupt(file, i + 1, problem);
    return record as R;
  });
}
