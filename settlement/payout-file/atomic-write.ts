import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AtomicWriteError } from './payout-file-errors';
import { syncDirectory } from '../../runtime/fs/sync-directory';

/**
 * Writes a file so that a reader sees either the old file or the whole new one, never a part,
 * even across a crash or power loss (docs/DESIGN.md, lesson 5):
 *   1. write a temp file in the SAME directory (a rename is only atomic within one file system);
 *   2. fsync it, so its bytes are on disk before any name points at them;
 *   3. rename it over the target (or, with overwrite: false, hard-link it to the target name,
 *      which fails if the target exists, so two writers racing cannot replace each other's file);
 *   4. fsync the directory, so the new name itself survives a crash.
 * On any failure the temp file is removed and the target is left as it was.
 *
 * Temp names start with a dot and end with .tmp; a process killed between 1 and 3 leaves one
 * behind, which no reader mistakes for a payout file.
 *
 * Failure codes: STS_ATOMIC_WRITE_FAILED (errors thrown by the caller's producer pass through).
 */
export class AtomicFile {
  private closed = false;
  private done = false;

  private constructor(
    readonly target: string,
    readonly tempPath: string,
    private readonly handle: fs.FileHandle,
  ) {}

  /** Creates the directory if needed and opens a fresh temp file next to the target. */
  static async open(target: string): Promise<AtomicFile> {
    const dir = path.dirname(target);
    const tempPath = path.join(
      dir,
      `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      await fs.mkdir(dir, { recursive: true });
      return new AtomicFile(target, tempPath, await fs.open(tempPath, 'wx', 0o644));
    } catch (err) {
      throw new AtomicWriteError(
        target,
        `cannot create a temp file in ${dir}: ${(err as Error).message}`,
        err,
      );
    }
  }

  async write(data: string | Buffer): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      // FileHandle.write may write less than asked; loop until the whole buffer is out.
      for (let off = 0; off < buf.length;)
        off += (await this.handle.write(buf, off, buf.length - off)).bytesWritten;
    } catch (err) {
      throw new AtomicWriteError(this.target, `write failed: ${(err as Error).message}`, err);
    }
  }

  /**
   * Syncs and publishes the temp file under the target name. Returns 'exists' (and removes the
   * temp file) when overwrite is false and the target already exists; the caller decides.
   */
  async commit(opts: { overwrite?: boolean } = {}): Promise<'written' | 'exists'> {
    try {
      await this.handle.sync();
      await this.close();
      if (opts.overwrite === false) {
        try {
          await fs.link(this.tempPath, this.target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          await this.abort();
          return 'exists';
        }
        await fs.unlink(this.tempPath);
      } else {
        await fs.rename(this.tempPath, this.target);
      }
      this.done = true;
    } catch (err) {
      await this.abort();
      throw new AtomicWriteError(
        this.target,
        `cannot publish the file: ${(err as Error).message}`,
        err,
      );
    }
    try {
      await syncDirectory(path.dirname(this.target));
    } catch (err) {
      throw new AtomicWriteError(
        this.target,
        `the file is in place but its directory could not be synced: ${(err as Error).message}`,
        err,
      );
    }
    return 'written';
  }

  /** Removes the temp file; safe to call twice, and after a failed commit. */
  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    if (this.done) return;
    this.done = true;
    await fs.rm(this.tempPath, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/**
 * Writes `content` (or whatever `produce` writes) to `target` atomically. Anything `produce`
 * throws aborts the write and is rethrown as it was.
 */
export async function writeFileAtomic(
  target: string,
  content: string | Buffer | ((file: AtomicFile) => Promise<void>),
  opts: { overwrite?: boolean } = {},
): Promise<'written' | 'exists'> {
  const file = await AtomicFile.open(target);
  try {
    if (typeof content === 'function') await content(file);
    else await file.write(content);
    return await file.commit(opts);
  } catch (err) {
    await file.abort();
    throw err;
  }
}
