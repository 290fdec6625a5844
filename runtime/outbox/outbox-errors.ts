import { StsError } from '../errors';

/**
 * Errors of outbox rows. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** An outbox event id, key or topic does not fit its column: a bug in whoever derived it, and an
 * id is never cut short. Not retriable: the same message would not fit again. */
export class OutboxIdInvalidError extends StsError {
  constructor(
    field: string,
    length: number,
    min: number,
    max: number,
    value: string,
    topic: string,
  ) {
    super(
      'STS_OUTBOX_ID_INVALID',
      `outbox ${field} is ${length} characters; it must be ${min} to ${max}: ${JSON.stringify(value.slice(0, 80))}`,
      {
        context: { component: 'outbox', topic },
        fix: 'derive the id with a fixed-length digest of the upstream input (see commissionRequestEventId)',
      },
    );
  }
}

/** An outbox row cannot be made into a message (its headers are not JSON). Not retriable: the
 * relay parks the row until someone corrects it. */
export class OutboxBadRowError extends StsError {
  constructor(outboxId: string, eventId: string, cause?: unknown) {
    super('STS_OUTBOX_BAD_ROW', `outbox row ${outboxId} has headers that are not JSON`, {
      context: { component: 'outbox-relay', outboxId, eventId },
      fix: 'the relay parks the row (outbox.parked_at); correct its headers column, then clear parked_at on its topic and key',
      cause,
    });
  }
}
