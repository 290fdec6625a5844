import { ERROR_CODES, type ErrorCode } from './error-codes';

/**
 * Every error this system raises on purpose. One root class, a stable `code` per kind from the
 * closed set in error-codes.ts, a `retriable` flag that table decides per code, and context fields
 * (topic, partition, offset, upload, row) so a log line or a DLQ header can say exactly where it
 * happened. This file holds the root and the kinds every layer raises (configuration, validation,
 * not found, an impossible state); each area declares its own kinds beside its code, in an
 * `*-errors.ts` (runtime/db/db-errors.ts, services/uploads/upload-errors.ts, ...). Code raises a
 * named class, never the root with a code of its own choosing; test/runtime/errors.test.ts finds
 * every error module and fails on a class of StsError declared anywhere else.
 *
 * Unknown errors are NOT retriable by default: retrying an error nobody classified is how a
 * consumer ends up in a restart loop on a poison message.
 */

export interface ErrorContext {
  topic?: string;
  partition?: number;
  offset?: string;
  uploadId?: string;
  row?: number;
  component?: string;
  [key: string]: unknown;
}

export class StsError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  /** One line telling an operator what to do about it; shown by the CLI under the cause. */
  readonly fix?: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { context?: ErrorContext; fix?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    // A code outside the table can only come from code that bypassed the types (plain JS, a cast):
    // unclassified, so not retriable, like every unknown error.
    this.retriable = Object.hasOwn(ERROR_CODES, code) && ERROR_CODES[code].retriable;
    this.context = opts.context ?? {};
    this.fix = opts.fix;
  }
}

/** A configuration value is missing or malformed. */
export class ConfigError extends StsError {
  constructor(message: string, fix?: string) {
    super('STS_CONFIG_INVALID', message, { fix });
  }
}

/** A decoded record breaks the business contract (bad region, zero amount, ...). */
export class ValidationError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_VALIDATION_FAILED', detail, { context });
  }
}

/** Wraps anything unclassified. Not retriable, on purpose (see the header). */
export function asStsError(err: unknown, context: ErrorContext = {}): StsError {
  if (err instanceof StsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StsError('STS_UNEXPECTED', message, { context, cause: err });
}

/** The code reached a state it holds impossible (a script answer it does not know, a hook called
 * out of order): a bug, so not retriable, under the same code as anything unclassified. */
export class UnexpectedStateError extends StsError {
  constructor(detail: string) {
    super('STS_UNEXPECTED', detail);
  }
}

/** A named entity (upload, payout, cycle, ...) does not exist. */
export class NotFoundError extends StsError {
  constructor(entity: string, id: string) {
    super('STS_NOT_FOUND', `${entity} ${id} does not exist`, { context: { entity, id } });
  }
}
