import fs from 'node:fs/promises';

/**
 * fsync on a directory makes its entries (a new file, a rename) durable: until then a crash can
 * lose the name even though the file's bytes are on disk. Linux and macOS allow it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
