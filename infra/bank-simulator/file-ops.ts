import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from '../../runtime/fs/sync-directory';

/**
 * Durable file moves and writes for the bank simulator (the same rules as the marketplace's
 * atomic writer, which infra may not import): a reader of the INBOUND folder sees a report whole
 * or not at all, and a name only counts once its directory is fsync'd.
 */

/** Temp files start with a dot (readers skip those) and end with .tmp. */
export function tempNameFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Writes `data` to `target` through a temp file in the same directory: write, fsync, rename, fsync dir. */
export async function writeFileAtomic(target: string, data: string): Promise<void> {
  const temp = tempNameFor(target);
  const fh = await fs.open(temp, 'wx', 0o644);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(target));
}

/**
 * Moves `from` to `to` (which must not exist) durably. A rename within one file system; across
 * file systems a copy (fsync'd, renamed into place) and then an unlink of the source. Both
 * directories are fsync'd, the target's first.
 */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const temp = tempNameFor(to);
    await fs.copyFile(from, temp, fs.constants.COPYFILE_EXCL);
    const fh = await fs.open(temp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(temp, to);
    await syncDirectory(path.dirname(to));
    await fs.unlink(from);
  }
  await syncDirectory(path.dirname(to));
  await syncDirectory(path.dirname(from));
}

/** Removes temp files a killed process left in `dir` (dot files ending in .tmp matching `base`). */
export async function removeStaleTemps(dir: string, base: RegExp): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('.') || !name.endsWith('.tmp') || !base.test(name.slice(1))) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed += 1;
  }
  return removed;
}
