import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of payout files: writing, verifying and reading them. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A payout cannot go into a payout file (zero or negative amount, unknown currency, a payout of
 * another region, cycle or currency, more digits than ISO 20022 allows). Not retriable: the data
 * must be fixed, and a file is never written with a line left out (docs/DESIGN.md, lesson 5). */
export class PayoutFileInvalidError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_PAYOUT_FILE_INVALID', `payout file: ${detail}`, {
      context,
      fix: 'fix the payout rows named in the message (table payout), then write the file again',
    });
  }
}

/** A payout file already exists with other bytes. Never retriable: a released file must never
 * silently change, so regeneration refuses instead of replacing it (docs/DESIGN.md, lesson 5). */
export class PayoutFileConflictError extends StsError {
  constructor(filePath: string, detail: string) {
    super('STS_PAYOUT_FILE_CONFLICT', `${filePath}: ${detail}`, {
      context: { filePath },
      fix: 'run `npx sts payout-file verify FILE` to see what differs; only a file whose payout_file row says WRITTEN (never released) may be moved aside and regenerated',
    });
  }
}

/** A payout file to verify cannot be read at all (missing, a directory, no permission). */
export class PayoutFileUnreadableError extends StsError {
  constructor(filePath: string, detail: string, cause?: unknown) {
    super('STS_PAYOUT_FILE_UNREADABLE', `cannot read ${filePath}: ${detail}`, {
      context: { filePath },
      fix: 'check the path (payout files live under STS_PAYOUT_FILES_DIR/payout-files/<region>/<cycle>/, STS_DATA_DIR by default) and its permissions',
      cause,
    });
  }
}

/** A file could not be written, synced or renamed into place; the temp file was removed and the
 * target left as it was. Not retriable on its own: a full disk or a read-only mount needs a human. */
export class AtomicWriteError extends StsError {
  constructor(filePath: string, detail: string, cause?: unknown) {
    super('STS_ATOMIC_WRITE_FAILED', `cannot write ${filePath}: ${detail}`, {
      context: { filePath },
      fix: 'check free space (df -h) and permissions of the directory, then rerun; the target was not touched',
      cause,
    });
  }
}

/** A payout file a cycle close wrote failed its verification. Not retriable on its own: the cycle
 * stays CLOSING and no file is released until the cause is fixed. The message names the first
 * failed check of `failures` (never empty). */
export class PayoutFileVerifyError extends StsError {
  constructor(
    region: string,
    cycleId: bigint,
    failures: ReadonlyArray<{ name: string; file: string; detail: string }>,
  ) {
    const first = failures[0]!;
    super(
      'STS_PAYOUT_FILE_VERIFY_FAILED',
      `payout file verification failed (${failures.length} check(s)), first: ${first.name} in ${first.file}: ${first.detail}`,
      {
        context: { region, cycleId },
        fix: 'the cycle stays CLOSING and no file is released; fix the cause and run the close again',
      },
    );
  }
}
