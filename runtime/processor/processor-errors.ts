import { StsError } from '../errors';

/**
 * Errors of the processor runtime: dead letters and bounded retries. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A dead letter could not be written. Retriable: the offset must not pass an unpublished record. */
export class DlqPublishError extends StsError {
  constructor(topic: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('STS_DLQ_PUBLISH_FAILED', `cannot publish to ${topic}: ${detail}`, {
      context: { topic },
      fix: `check that ${topic} exists (npx sts up creates every DLQ) and the broker is reachable`,
      cause,
    });
  }
}

/** A record kept failing with a retriable error while its dependency (the database) answered, so
 * waiting longer would not help: it is dead-lettered instead of holding its partition. Carries the
 * last error's code and message. Not retriable: replay it once the cause is fixed. */
export class RetriesExhaustedError extends StsError {
  readonly lastCode: string;
  constructor(
    lastCode: string,
    lastMessage: string,
    attempts: number,
    elapsedMs: number,
    cause?: unknown,
  ) {
    super(
      'STS_RETRIES_EXHAUSTED',
      `gave up after ${attempts} attempts over ${Math.round(elapsedMs / 1000)} s while the database answered; last error ${lastCode}: ${lastMessage}`,
      {
        context: { lastCode, attempts },
        fix: 'the last error names the cause (sts-error-cause-code header); fix it, then replay the letter with `npx sts dlq replay`',
        cause,
      },
    );
    this.lastCode = lastCode;
  }
}
