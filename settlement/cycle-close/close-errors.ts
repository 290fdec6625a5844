import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of the cycle close. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A cycle close waited for the watermark and gave up; `context.lagging` says which partitions lag. */
export class WatermarkNotReachedError extends StsError {
  constructor(detail: string, lagging: string) {
    super('STS_WATERMARK_NOT_REACHED', detail, {
      context: { lagging },
      fix: 'start the lagging processors (npx sts run all) or wait for them, then run the close again; it never pays short',
    });
  }
}

/** A close that must not run as asked: an unknown region, a cutoff that is not a cycle boundary or is in the future. */
export class CloseRefusedError extends StsError {
  constructor(detail: string, fix?: string, context: ErrorContext = {}) {
    super('STS_CLOSE_REFUSED', detail, { context, fix });
  }
}
