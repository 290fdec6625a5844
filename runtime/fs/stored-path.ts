import path from 'node:path';

/**
 * How a file's location is kept in the database (payout_file.path, bank_file.path): relative to
 * STS_DATA_DIR, with forward slashes, when the file is under it, so a data directory moved with
 * its database still finds its files; absolute when STS_PAYOUT_FILES_DIR puts it elsewhere. Rows
 * written before that option keep their relative paths, which resolve as they always did.
 */
export function storedPathOf(dataDir: string, file: string): string {
  const relative = path.relative(dataDir, file);
  const outside =
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative);
  return outside ? path.resolve(file) : relative.split(path.sep).join('/');
}

/** The absolute path of a stored one: relative paths against STS_DATA_DIR, absolute kept. */
export function resolveStoredPath(dataDir: string, stored: string): string {
  return path.resolve(dataDir, stored);
}
