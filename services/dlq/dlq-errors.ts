import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of DLQ replay. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A DLQ replay that must not run as asked: no such dead letter's origin, bad coordinates. Not
 * retriable: replaying somewhere other than the original topic would apply it in the wrong place. */
export class DlqReplayRefusedError extends StsError {
  constructor(detail: string, context: ErrorContext = {}, fix?: string) {
    super('STS_DLQ_REPLAY_REFUSED', detail, {
      context,
      fix:
        fix ??
        'list the dead letters with `npx sts dlq list --topic T` and give --partition and --offset of one, or --all',
    });
  }
}
