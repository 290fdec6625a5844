/**
 * The closed set of error codes: every `STS_` code the system throws, logs as an alert or answers
 * from the ops API, each once, with what it means and whether it is retriable.
 *
 * Retriability is decided here, once per code, not by whoever raises it: a code that meant
 * "retry" at one call site and "give up" at another could not be acted on by its code alone (in a
 * DLQ header, an alert rule, a client). A code that would need both is two codes.
 *
 * For a code that is only logged or answered, `retriable` says whether the same operation may
 * succeed unchanged later. Adding a code means adding it to the list in
 * test/runtime/errors.test.ts too, on purpose.
 */

export interface ErrorCodeInfo {
  /** True when the same operation may succeed later without anything being changed. */
  readonly retriable: boolean;
  /** One line: what happened. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  // The stack and its configuration.
  STS_CONFIG_INVALID: {
    retriable: false,
    meaning: 'a configuration value or a request option is missing or malformed',
  },
  STS_PORT_IN_USE: {
    retriable: false,
    meaning: 'a port the local stack needs is held by a process it did not start',
  },
  STS_ARTIFACT_UNAVAILABLE: {
    retriable: false,
    meaning: 'Maven could not provide an artifact the local stack runs',
  },
  STS_PREREQUISITE_MISSING: {
    retriable: false,
    meaning: 'a program or service the stack needs is not installed',
  },
  STS_SERVICE_UNAVAILABLE: {
    retriable: true,
    meaning: 'a service the system depends on (database, broker, Redis, registry) is unreachable',
  },
  STS_STARTUP_FAILED: {
    retriable: false,
    meaning: 'a process the stack started exited or never became ready',
  },
  STS_TOPOLOGY_INVALID: {
    retriable: false,
    meaning: 'the topology declaration contradicts itself',
  },
  STS_CHAOS_RUN: {
    retriable: false,
    meaning: 'a chaos run could not do what its scenario needs',
  },

  // Database sessions and schema.
  STS_SQL_MODE_UNSUPPORTED: {
    retriable: false,
    meaning:
      'the database session cannot be pinned to the SQL mode, time zone or charset relied on',
  },
  STS_COLLATION_UNSUPPORTED: {
    retriable: false,
    meaning: 'the database offers no binary collation to compare ids byte for byte',
  },
  STS_SCHEMA_AHEAD: {
    retriable: false,
    meaning: 'the database has migrations this checkout does not know',
  },
  STS_SCHEMA_BEHIND: {
    retriable: false,
    meaning: 'the database lacks a table of a migration this code needs',
  },
  STS_LOCK_UNAVAILABLE: {
    retriable: true,
    meaning: "a singleton role's lease is held by another instance or was lost (a fenced write refused)",
  },

  // Kafka, the schema registry and the records on topics.
  STS_KAFKA_CLIENT_UNSUPPORTED: {
    retriable: false,
    meaning: 'the kafkajs internals that direct partition reads rely on are missing',
  },
  STS_KAFKA_READ_FAILED: {
    retriable: true,
    meaning: 'a direct partition read (offsets or records) failed',
  },
  STS_TOPICS_NOT_READY: {
    retriable: true,
    meaning: 'topics were created but their partitions have no leader yet',
  },
  STS_REGISTRY_UNAVAILABLE: {
    retriable: true,
    meaning:
      'the schema registry gave no usable answer (no answer, timeout, too long, not JSON, 5xx, 408, 429)',
  },
  STS_REGISTRY_REFUSED: {
    retriable: false,
    meaning: 'the schema registry refused the request itself (a 4xx answer other than 408 or 429)',
  },
  STS_SCHEMA_UNKNOWN: {
    retriable: false,
    meaning: 'the schema registry does not have the schema id or subject asked for',
  },
  STS_SCHEMA_INCOMPATIBLE: {
    retriable: false,
    meaning: "the registry refused a schema that breaks its subject's compatibility rule",
  },
  STS_ENCODE_FAILED: {
    retriable: false,
    meaning: 'a value does not match the schema it is being encoded with',
  },
  STS_DECODE_FAILED: {
    retriable: false,
    meaning: 'bytes on a topic cannot be decoded with the schema they claim',
  },
  STS_VALIDATION_FAILED: {
    retriable: false,
    meaning: 'a decoded record or a request breaks the business contract',
  },

  // Ids.
  STS_ID_LEASE_LOST: {
    retriable: false,
    meaning: "the id generator's worker lease expired, was taken over or was released",
  },
  STS_ID_LEASES_EXHAUSTED: {
    retriable: true,
    meaning: 'every worker id of a datacenter is leased',
  },
  STS_ID_COLLISION: {
    retriable: false,
    meaning: "a new row's generated id is already taken by another row (an id minted twice)",
  },
  STS_ID_TIME_EXHAUSTED: {
    retriable: false,
    meaning: 'the 41-bit id time range has run out',
  },
  STS_CLOCK_BACKWARDS: {
    retriable: false,
    meaning: 'the wall clock moved back further than the id generator may wait out',
  },

  // Ledgers.
  STS_CONCURRENT_WRITE: {
    retriable: true,
    meaning: 'another writer inserted the same key or moved the same balance; the batch reruns',
  },
  STS_LEDGER_WRITE_ALTERED: {
    retriable: false,
    meaning: 'the database changed a billing item value to fit a column instead of refusing it',
  },
  STS_LEDGER_TEXT_TOO_LONG: {
    retriable: false,
    meaning: 'a billing item text value is longer than its column',
  },
  STS_BALANCE_OVERFLOW: {
    retriable: false,
    meaning: "a seller's cycle balance would pass a signed 64-bit integer",
  },
  STS_BALANCE_GUARD_MISSED: {
    retriable: false,
    meaning:
      'a balance write without reads found an account near its bound; the caller redoes it reading balances',
  },
  STS_LEDGER_INVARIANT: {
    retriable: false,
    meaning: 'a money transaction phase came out of order (CONFIRM without TRY, say)',
  },
  STS_NO_OPEN_CYCLE: {
    retriable: false,
    meaning: 'no open settlement cycle within the weeks searched after the natural one',
  },

  // Commission.
  STS_COMMISSION_RULE_INVALID: {
    retriable: false,
    meaning: 'a commission rule is malformed (rate, min/max, dates)',
  },
  STS_COMMISSION_RULE_OVERLAP: {
    retriable: false,
    meaning: "a commission rule version's dates overlap another version",
  },
  STS_COMMISSION_RULE_UNCONFIRMED: {
    retriable: false,
    meaning:
      'a new commission rule version raised warnings (rate jump, retroactive) nobody confirmed',
  },
  STS_COMMISSION_RULE_MISSING: {
    retriable: false,
    meaning: 'no commission rule is effective for the region and category when the order happened',
  },
  STS_COMMISSION_CHARGE_UNKNOWN: {
    retriable: false,
    meaning: 'a clawback arrived for an order whose charge was never recorded',
  },
  STS_COMMISSION_CONFLICT: {
    retriable: false,
    meaning: 'a commission request disagrees with what is recorded for its order',
  },

  // The payment gateway and payouts.
  STS_GATEWAY_UNAVAILABLE: {
    retriable: true,
    meaning: 'the payment gateway gave no answer to trust (timeout, reset, 5xx, breaker open)',
  },
  STS_GATEWAY_KEY_CONFLICT: {
    retriable: false,
    meaning: 'the gateway saw the idempotency key before with a different payout',
  },
  STS_GATEWAY_REQUEST_INVALID: {
    retriable: false,
    meaning: 'the gateway refused the request as malformed',
  },
  STS_GATEWAY_JOURNAL_CORRUPT: {
    retriable: false,
    meaning: "the gateway simulator's execution journal has a damaged line before its tail",
  },
  STS_BANK_JOURNAL_CORRUPT: {
    retriable: false,
    meaning: "the bank simulator's journal has a damaged line before its tail",
  },
  STS_PAYMENTS_PAUSED: {
    retriable: true,
    meaning: "payments are paused while the gateway's circuit breaker is open",
  },
  STS_PAYOUT_MISMATCH: {
    retriable: false,
    meaning: 'a payout event disagrees with the payout row it names',
  },
  STS_PAYOUT_UNRESOLVED: {
    retriable: false,
    meaning: 'a payout has no final state after every attempt the compensator may make',
  },
  STS_COMPENSATOR_STALLED: {
    retriable: true,
    meaning: 'alert: payment compensator rounds keep failing (Redis or database); still retrying',
  },

  // Payout files.
  STS_PAYOUT_FILE_INVALID: {
    retriable: false,
    meaning: 'a payout cannot go into a payout file',
  },
  STS_PAYOUT_FILE_CONFLICT: {
    retriable: false,
    meaning: 'a payout file already exists with other bytes',
  },
  STS_PAYOUT_FILE_UNREADABLE: {
    retriable: false,
    meaning: 'a payout file to verify cannot be read',
  },
  STS_PAYOUT_FILE_VERIFY_FAILED: {
    retriable: false,
    meaning: 'a payout file written by a cycle close failed its verification',
  },
  STS_ATOMIC_WRITE_FAILED: {
    retriable: false,
    meaning: 'a file could not be written, synced or renamed into place',
  },

  // Cycle close.
  STS_WATERMARK_NOT_REACHED: {
    retriable: true,
    meaning: 'a cycle close gave up waiting for every partition to pass the cutoff',
  },
  STS_CLOSE_REFUSED: {
    retriable: false,
    meaning: 'a cycle close must not run as asked (unknown region, a cutoff off the boundary)',
  },
  STS_CLOSE_OVERDUE: {
    retriable: true,
    meaning: "alert: a region's scheduled close keeps failing tick after tick; still retrying",
  },

  // Outbox.
  STS_OUTBOX_ID_INVALID: {
    retriable: false,
    meaning: "an outbox event id, key or topic does not fit its column's length",
  },
  STS_OUTBOX_BAD_ROW: {
    retriable: false,
    meaning: 'an outbox row cannot be made into a message (headers that are not JSON)',
  },
  STS_OUTBOX_ROW_TOO_LARGE: {
    retriable: false,
    meaning: "an outbox row's message is larger than its topic accepts; the row is parked",
  },
  STS_OUTBOX_HELD_BEHIND: {
    retriable: false,
    meaning: 'an outbox row waits, parked, behind a parked row of its topic and key',
  },

  // Uploads, DLQ, reconciliation, alerts.
  STS_UPLOAD_REFUSED: {
    retriable: false,
    meaning: 'a whole upload file is refused before anything is written',
  },
  STS_UPLOAD_ACTION_REFUSED: {
    retriable: false,
    meaning: 'an operator action on an upload (confirm) must not run in its current state',
  },
  STS_DLQ_PUBLISH_FAILED: {
    retriable: true,
    meaning: 'a dead letter could not be written',
  },
  STS_DLQ_REPLAY_REFUSED: {
    retriable: false,
    meaning: 'a DLQ replay must not run as asked',
  },
  STS_RETRIES_EXHAUSTED: {
    retriable: false,
    meaning: 'a record kept failing retriably while the database answered, so it was dead-lettered',
  },
  STS_RECON_FIX_REFUSED: {
    retriable: false,
    meaning: 'a reconciliation fix must not run as asked',
  },

  // Payees and payouts held for an operator.
  STS_PAYEE_INVALID: {
    retriable: false,
    meaning: 'a payee account lacks what a bank needs to pay it, or holds what a bank cannot take',
  },
  STS_PAYOUT_ACTION_REFUSED: {
    retriable: false,
    meaning: 'an operator action on a payout (release, cancel) must not run as asked',
  },
  STS_ALERT_DELIVERY_FAILED: {
    retriable: true,
    meaning: 'the lag alert webhook did not accept a post',
  },

  // The ops API's answers.
  STS_NOT_FOUND: {
    retriable: false,
    meaning: 'a named entity (upload, payout, cycle, route, asset) does not exist',
  },
  STS_BAD_REQUEST: {
    retriable: false,
    meaning: 'the ops API refused a malformed request (a 4xx from the HTTP layer)',
  },
  STS_UNSUPPORTED_MEDIA: {
    retriable: false,
    meaning: 'an upload was sent with a content type other than CSV or octet-stream',
  },
  STS_UNAUTHORIZED: {
    retriable: false,
    meaning: 'the ops API request has no valid bearer token',
  },
  STS_FORBIDDEN: {
    retriable: false,
    meaning: "the ops API request needs a higher role than the token's",
  },

  // Anything nobody classified: never retried (runtime/errors.ts, asStsError).
  STS_UNEXPECTED: {
    retriable: false,
    meaning: 'an error nobody classified, or a state the code holds impossible (a bug)',
  },
} as const satisfies Record<`STS_${string}`, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
