import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of upload intake and of operator actions on uploads. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A whole upload file is refused before anything is written: bad header, no rows, too large. */
export class UploadRefusedError extends StsError {
  constructor(
    readonly reason:
      | 'EMPTY_FILE'
      | 'NO_ROWS'
      | 'MISSING_COLUMNS'
      | 'DUPLICATE_COLUMNS'
      | 'BAD_HEADER'
      | 'TOO_LARGE',
    detail: string,
    opts: { context?: ErrorContext; fix?: string } = {},
  ) {
    super('STS_UPLOAD_REFUSED', detail, { context: { reason, ...opts.context }, fix: opts.fix });
  }
}

/** A confirm of an upload that is not waiting for one (already confirmed, cancelled, finished).
 * Not retriable: the same request would be refused again; the message says the upload's state. */
export class UploadActionRefusedError extends StsError {
  constructor(uploadId: bigint, detail: string, fix: string) {
    super('STS_UPLOAD_ACTION_REFUSED', `upload ${uploadId}: ${detail}`, { context: { uploadId: uploadId.toString() }, fix });
  }
}
