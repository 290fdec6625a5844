import { StsError, type ErrorContext } from '../errors';

/**
 * Errors of the id generator and its worker leases. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The id generator's worker lease expired, was taken over, or was released. Never retriable:
 * the generator must stop for good and a new lease be acquired (docs/DESIGN.md, lesson 1). */
export class IdLeaseLostError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_ID_LEASE_LOST', `id worker lease lost: ${detail}`, {
      context,
      fix: 'acquire a new worker lease; check database reachability and event-loop stalls',
    });
  }
}

/** A new row's generated id is already taken by another row: the id generator minted one id
 * twice (docs/DESIGN.md, lesson 1). Never retriable and never read as "already booked": a
 * duplicate is only ever judged by the business key. The record is dead-lettered with this code. */
export class IdCollisionError extends StsError {
  constructor(table: string, detail: string, cause?: unknown) {
    super(
      'STS_ID_COLLISION',
      `${table}: a generated id is already taken by another row: ${detail}`,
      {
        context: { table },
        fix: 'two id generators share a worker id; check the worker leases (id_worker_lease) and clocks, then replay the letter',
        cause,
      },
    );
  }
}

/** Every worker id of a datacenter is leased. Retriable: a lease may expire or be released. */
export class IdLeasesExhaustedError extends StsError {
  constructor(datacenterId: number, slots: number) {
    const message = `all ${slots} worker ids of datacenter ${datacenterId} are leased`;
    super('STS_ID_LEASES_EXHAUSTED', message, {
      context: { datacenterId, slots },
      fix: 'run fewer id generators in this datacenter, or wait for stale leases to expire',
    });
  }
}

/** The wall clock moved back further than the generator may wait out, or left the id range. */
export class ClockBackwardsError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_CLOCK_BACKWARDS', `clock moved backwards: ${detail}`, {
      context,
      fix: 'check NTP on this host (chronyc tracking); ids resume once the clock passes the last one',
    });
  }
}

/** The id generator's clock passed the last millisecond 41 bits can hold. Not retriable: no id
 * can be minted until the epoch changes. */
export class IdTimeExhaustedError extends StsError {
  constructor(context: ErrorContext = {}) {
    super('STS_ID_TIME_EXHAUSTED', 'the 41-bit id time range has run out', { context });
  }
}
