import { ERROR_CODES, type ErrorCode } from './error-codes';

/**
 * Every error this system raises on purpose. One root class, a stable `code` per kind from the
 * closed set in error-codes.ts, a `retriable` flag that table decides per code, and context fields
 * (topic, partition, offset, upload, row) so a log line or a DLQ header can say exactly where it
 * happened. Code outside this file raises a named class below, never the root with a code of its
 * own choosing.
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

/** A port the local stack needs is held by a process the stack did not start. */
export class PortInUseError extends StsError {
  constructor(component: string, port: number, fix: string) {
    super('STS_PORT_IN_USE', `${component}: port ${port} is already in use by another process`, {
      context: { component, port },
      fix,
    });
  }
}

/** Maven could not provide an artifact (offline, missing, or a broken local repository). */
export class ArtifactUnavailableError extends StsError {
  constructor(artifact: string, detail: string, cause?: unknown) {
    super('STS_ARTIFACT_UNAVAILABLE', `cannot fetch ${artifact} through Maven: ${detail}`, {
      context: { artifact },
      fix: 'check that Maven Central is reachable (mvn -v; ~/.m2/settings.xml) and retry `npx sts up`',
      cause,
    });
  }
}

/** A prerequisite program or service is not installed on this machine. */
export class PrerequisiteMissingError extends StsError {
  constructor(what: string, fix: string) {
    super('STS_PREREQUISITE_MISSING', `${what} is not installed`, { context: { what }, fix });
  }
}

/** A service the stack depends on cannot be reached. Retriable: it may come back. `detail` is
 * undefined when nothing more is known than that (a remote broker `sts up` does not run). */
export class ServiceUnavailableError extends StsError {
  constructor(
    component: string,
    address: string,
    detail: string | undefined,
    fix: string,
    cause?: unknown,
  ) {
    const why = detail === undefined ? '' : `: ${detail}`;
    super('STS_SERVICE_UNAVAILABLE', `${component} at ${address} is unreachable${why}`, {
      context: { component, address },
      fix,
      cause,
    });
  }
}

/** A process the stack started exited or never became ready. */
export class StartupFailedError extends StsError {
  constructor(component: string, detail: string, logFile: string) {
    super('STS_STARTUP_FAILED', `${component} failed to start: ${detail}`, {
      context: { component, logFile },
      fix: `read ${logFile} for the cause, then \`npx sts down && npx sts up\``,
    });
  }
}

/** The topology declaration contradicts itself (a topic without a schema or DLQ, say). */
export class TopologyError extends StsError {
  constructor(problems: string[]) {
    super('STS_TOPOLOGY_INVALID', `topology is invalid:\n  - ${problems.join('\n  - ')}`, {
      context: { problems },
      fix: 'edit topologies/ so every topic has a schema and a DLQ, and every input is declared',
    });
  }
}

/** The registry refused a schema because it breaks the subject's compatibility rule. */
export class SchemaIncompatibleError extends StsError {
  constructor(subject: string, detail: string) {
    super('STS_SCHEMA_INCOMPATIBLE', `schema for ${subject} is incompatible: ${detail}`, {
      context: { subject },
      fix: 'evolve schemas only by adding optional fields with defaults (docs/CONTRACTS.md)',
    });
  }
}

/** The schema registry gave no usable answer: none at all (refused, reset, DNS, slower than the
 * timeout), one too long or not the JSON its API documents, or HTTP 5xx, 408 or 429. Retriable:
 * the registry being down or slow says nothing about the record that needed it, so a consumer
 * waits and retries instead of dead-lettering good input. */
export class RegistryUnavailableError extends StsError {
  constructor(detail: string, status?: number, cause?: unknown) {
    super('STS_REGISTRY_UNAVAILABLE', detail, {
      context: { component: 'schema-registry', ...(status === undefined ? {} : { status }) },
      fix: 'check that the schema registry answers (`npx sts status`) at STS_SCHEMA_REGISTRY_URL; consumers retry until it does',
      cause,
    });
  }
}

/** The schema registry answered with a status that blames the request (a 4xx other than 408 and
 * 429): sending it again would be refused again. Not retriable. */
export class RegistryRefusedError extends StsError {
  constructor(detail: string, status: number, cause?: unknown) {
    super('STS_REGISTRY_REFUSED', detail, {
      context: { component: 'schema-registry', status },
      fix: 'the request was refused as malformed; check the subject name and schema text',
      cause,
    });
  }
}

/** The registry has no such schema id or subject (HTTP 404). Not retriable: the id a record
 * carries will not appear later; the codec turns it into a decode failure. */
export class SchemaUnknownError extends StsError {
  constructor(detail: string) {
    super('STS_SCHEMA_UNKNOWN', detail, { context: { component: 'schema-registry' } });
  }
}

/** A value does not match the schema it is encoded with: a bug in the producer's mapping, which
 * no retry changes. `paths` name the fields that do not match. */
export class EncodeError extends StsError {
  constructor(schemaId: number, paths: string[]) {
    super('STS_ENCODE_FAILED', `value does not match schema ${schemaId} at ${paths.join(', ')}`);
  }
}

/** Bytes on a topic could not be decoded with the schema they claim. Never retriable. */
export class DecodeError extends StsError {
  constructor(detail: string, context: ErrorContext, cause?: unknown) {
    super('STS_DECODE_FAILED', `cannot decode message: ${detail}`, { context, cause });
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

/** A singleton role's lease (runtime/db/lease.ts; the outbox relay's, say) is held or was lost. Retriable. */
export class LockUnavailableError extends StsError {
  constructor(lockName: string, detail: string, cause?: unknown) {
    super('STS_LOCK_UNAVAILABLE', `lock ${lockName}: ${detail}`, {
      context: { lockName },
      fix: 'another instance holds the role; this one waits as standby and takes over if it stops',
      cause,
    });
  }
}

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

/** A commission rule is malformed (rate, min/max, dates). Never retriable: the input must change. */
export class CommissionRuleInvalidError extends StsError {
  constructor(problems: string[], context: ErrorContext = {}) {
    super('STS_COMMISSION_RULE_INVALID', `commission rule is invalid: ${problems.join('; ')}`, {
      context: { ...context, problems },
      fix: 'rate-bps 0..10000, 0 <= min <= max, and --to after --from (ISO 8601, UTC)',
    });
  }
}

/** A new rule version's dates overlap another version of the same region and category. */
export class CommissionRuleOverlapError extends StsError {
  constructor(region: string, category: string, otherVersion: number, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_RULE_OVERLAP',
      `the dates overlap version ${otherVersion} of ${region}/${category}`,
      {
        context: { ...context, region, category, otherVersion },
        fix: `pick dates outside version ${otherVersion} (sts rules list --region ${region})`,
      },
    );
  }
}

/**
 * A new rule version raised warnings (processors/commission/rule-warnings.ts) and the operator did
 * not confirm them: nothing was written. `warnings` carries each one, for the CLI and the API.
 */
export class CommissionRuleUnconfirmedError extends StsError {
  constructor(
    readonly warnings: ReadonlyArray<{ kind: string; message: string }>,
    context: ErrorContext = {},
  ) {
    super(
      'STS_COMMISSION_RULE_UNCONFIRMED',
      `the rule was not written: ${warnings.length} warning(s) to confirm: ${warnings.map((w) => w.message).join('; ')}`,
      {
        context: { ...context, warnings },
        fix: 'check the warnings, then add --confirm-warnings (API: "confirm": true) to write it anyway',
      },
    );
  }
}

/** No rule, not even the region's '*' default, is effective when the order happened. Not
 * retriable: it would stall the partition until someone adds a rule; replay the DLQ instead. */
export class CommissionRuleMissingError extends StsError {
  constructor(region: string, category: string, at: Date, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_RULE_MISSING',
      `no commission rule for ${region}/${category} (nor ${region}/*) at ${at.toISOString()}`,
      {
        context: { ...context, region, category, at: at.toISOString() },
        fix: `add one with \`sts rules add --region ${region} --category '*' ...\`, then \`sts dlq replay\``,
      },
    );
  }
}

/** A clawback arrived for an order whose charge was never recorded (out of order, or older than
 * the system). Not retriable and never guessed: the fee it returns depends on that charge. */
export class CommissionChargeUnknownError extends StsError {
  constructor(region: string, orderId: bigint, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_CHARGE_UNKNOWN',
      `no commission charge recorded for order ${orderId} in ${region}`,
      {
        context: { ...context, region, orderId: orderId.toString() },
        fix: "replay it from the DLQ once the order's CHARGE is processed (sts dlq replay); if it predates the system, settle it by upload",
      },
    );
  }
}

/** A commission request disagrees with what is recorded for its order (another seller, currency,
 * or a second CHARGE). Rejected, never guessed (docs/DESIGN.md, lesson 2). */
export class CommissionConflictError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_COMMISSION_CONFLICT', detail, {
      context,
      fix: 'compare the request with commission_charge for the order; fix the upstream event, then replay',
    });
  }
}

/** The payment gateway gave no answer we can trust (timeout, reset, refused, 5xx, breaker open).
 * Retriable, but only with the same Idempotency-Key: the payout may or may not have executed. */
export class GatewayUnavailableError extends StsError {
  readonly reason: string;
  constructor(reason: string, detail: string, context: ErrorContext = {}, cause?: unknown) {
    super('STS_GATEWAY_UNAVAILABLE', `payment gateway ${reason}: ${detail}`, {
      context: { component: 'payment-gateway', reason, ...context },
      fix: 'look the payout up by its key before resending; check STS_GATEWAY_URL and `npx sts status`',
      cause,
    });
    this.reason = reason;
  }
}

/** The gateway saw this Idempotency-Key before with a different body. A bug, never retried:
 * resending would either be refused again or, with a new key, pay twice. */
export class GatewayKeyConflictError extends StsError {
  constructor(key: string, detail: string) {
    super(
      'STS_GATEWAY_KEY_CONFLICT',
      `idempotency key ${key} was used with a different payout: ${detail}`,
      {
        context: { component: 'payment-gateway', key },
        fix: 'derive the key from the payout id only, and never change a payout after it was first sent',
      },
    );
  }
}

/** The gateway refused the request as malformed (400 or another unexpected 4xx). Not retriable. */
export class GatewayRequestInvalidError extends StsError {
  constructor(status: number, detail: string, context: ErrorContext = {}) {
    super(
      'STS_GATEWAY_REQUEST_INVALID',
      `payment gateway refused the request (HTTP ${status}): ${detail}`,
      {
        context: { component: 'payment-gateway', status, ...context },
        fix: 'the request breaks the gateway contract; fix the caller (ids and amounts are decimal strings)',
      },
    );
  }
}

/** The gateway simulator's execution journal has a damaged line before its tail. Not retriable:
 * starting without those records would execute their keys a second time. */
export class GatewayJournalCorruptError extends StsError {
  constructor(file: string, line: number, detail: string) {
    super('STS_GATEWAY_JOURNAL_CORRUPT', `${file} line ${line} is not a valid record: ${detail}`, {
      context: { component: 'gateway-simulator', file, line },
      fix: `inspect ${file} at line ${line}; restore it from a copy, never delete records to make it start`,
    });
  }
}

/** The bank simulator's journal cannot be read back; it refuses to start rather than forget a file. */
export class BankJournalCorruptError extends StsError {
  constructor(file: string, line: number, detail: string) {
    super('STS_BANK_JOURNAL_CORRUPT', `${file} line ${line} is not a valid record: ${detail}`, {
      context: { component: 'bank-simulator', file, line },
      fix: `inspect ${file} at line ${line}; restore it from a copy, never delete records to make it start`,
    });
  }
}

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

/** A named entity (upload, payout, cycle, ...) does not exist. */
export class NotFoundError extends StsError {
  constructor(entity: string, id: string) {
    super('STS_NOT_FOUND', `${entity} ${id} does not exist`, { context: { entity, id } });
  }
}

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

/** A payout event disagrees with the payout row it names (seller, currency or amount). Never
 * retriable and never guessed: paying what the event says could pay the wrong seller (lesson 2). */
export class PayoutMismatchError extends StsError {
  constructor(payoutId: bigint, detail: string, context: ErrorContext = {}) {
    super(
      'STS_PAYOUT_MISMATCH',
      `payout ${payoutId}: the event disagrees with the payout row: ${detail}`,
      {
        context: { ...context, payoutId: payoutId.toString() },
        fix: 'compare the event with table payout; fix the producer, then `sts dlq replay` the event',
      },
    );
  }
}

/** A TCC phase out of order (CONFIRM without TRY, CONFIRM after CANCEL, a second TRY). A bug,
 * never retried: applying it would move money the ledger says is not there. */
export class LedgerInvariantError extends StsError {
  constructor(txId: bigint, detail: string) {
    super('STS_LEDGER_INVARIANT', `money transaction ${txId}: ${detail}`, {
      context: { txId: txId.toString() },
      fix: 'inspect tcc_state and fund_movement for the tx id; the ledger was left unchanged',
    });
  }
}

/** Payments are paused because the gateway's circuit breaker is open. Retriable: the batch is
 * given back and retried with back-off once the breaker lets requests through again. */
export class PaymentsPausedError extends StsError {
  constructor(breakerState: string) {
    super(
      'STS_PAYMENTS_PAUSED',
      `payments paused: the gateway circuit breaker is ${breakerState}`,
      {
        context: { component: 'payment-notify', breakerState },
        fix: 'nothing to do; consumption resumes after a successful trial request (check `npx sts status`)',
      },
    );
  }
}

/** A payout is still SUBMITTED after every attempt the compensator may make, or the gateway
 * refused it as malformed. Ops are alerted and the payout is dead-lettered; its money stays in
 * flight until a human decides, because either final state could be wrong. */
export class PayoutUnresolvedError extends StsError {
  constructor(payoutId: bigint, detail: string, context: ErrorContext = {}) {
    super('STS_PAYOUT_UNRESOLVED', `payout ${payoutId} has no final state: ${detail}`, {
      context: { ...context, payoutId: payoutId.toString() },
      fix: 'look the payout up at the gateway by its id (the Idempotency-Key), then settle it by hand',
    });
  }
}

/** The kafkajs internals that direct partition reads rely on are missing (a kafkajs upgrade).
 * Not retriable: every attempt would fail the same way until the code is adapted. */
export class KafkaClientUnsupportedError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super(
      'STS_KAFKA_CLIENT_UNSUPPORTED',
      `cannot read partitions directly with this kafkajs: ${detail}`,
      {
        context: { component: 'partition-reader' },
        fix: 'pin kafkajs to 2.2.x (package.json), or adapt runtime/kafka/partition-reader.ts to the new internals',
        cause,
      },
    );
  }
}

/** A direct partition read (offsets or records) failed. Retriable: leaders move, brokers restart. */
export class KafkaReadError extends StsError {
  constructor(topic: string, detail: string, cause?: unknown) {
    super('STS_KAFKA_READ_FAILED', `cannot read ${topic}: ${detail}`, {
      context: { topic },
      fix: 'check that the topic exists (npx sts topology --check) and the broker is up (npx sts status)',
      cause,
    });
  }
}

/** Topics were created but their partitions have no leader yet. Retriable: a broker that is
 * still starting or catching up on metadata will elect them. */
export class TopicsNotReadyError extends StsError {
  constructor(topics: string[], detail: string) {
    super(
      'STS_TOPICS_NOT_READY',
      `topics ${topics.slice(0, 3).join(', ')}${topics.length > 3 ? ` and ${topics.length - 3} more` : ''} have no leaders: ${detail}`,
      {
        context: { topic: topics[0] },
        fix: 'check that the broker is up and its controller quorum is healthy (npx sts status; the broker log is kafka/server.log under STS_DATA_DIR)',
      },
    );
  }
}

/** The lag alert webhook did not accept a post. Retriable: the alerter posts again next sample. */
export class AlertDeliveryError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super('STS_ALERT_DELIVERY_FAILED', `lag alert webhook: ${detail}`, {
      context: { component: 'lag-alerter' },
      fix: 'check STS_ALERT_WEBHOOK_URL and that the receiver answers 2xx to a JSON POST',
      cause,
    });
  }
}

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

/** A reconciliation fix that must not run as asked: the finding has no documented fix, or its
 * precondition fails (resync of a cycle that is no longer OPEN, whose payouts are snapshotted).
 * Not retriable: the same request would be refused again; the message says what to do instead. */
export class ReconFixRefusedError extends StsError {
  constructor(detail: string, context: ErrorContext = {}, fix?: string) {
    super('STS_RECON_FIX_REFUSED', detail, {
      context: { component: 'recon', ...context },
      fix: fix ?? 'list the open findings and their fixes with `npx sts recon list`',
    });
  }
}

/** The chaos run could not do what its scenario needs (a component that would not restart, a
 * flow that never went quiet). Not a verdict on the pipeline: the run's checks report those. */
export class ChaosRunError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_CHAOS_RUN', detail, {
      context: { component: 'chaos', ...context },
      fix: 'read the run log under the chaos directory the report names; `sts chaos --keep` leaves the stack running to inspect',
    });
  }
}

/** The database session cannot be put in the SQL mode, time zone or character set the code
 * relies on (strict, backslash escapes, backtick identifiers, UTC, utf8mb4). Not retriable: the
 * server refuses the setting itself, so every connection would fail the same way. */
export class SqlModeUnsupportedError extends StsError {
  constructor(detail: string, context: ErrorContext = {}, cause?: unknown) {
    super('STS_SQL_MODE_UNSUPPORTED', `the database session cannot be pinned: ${detail}`, {
      context: { component: 'mysql', ...context },
      fix: 'use MariaDB 10.4+ or MySQL 8 without a proxy that rewrites SET SESSION, and let the sts user set sql_mode, time_zone and the connection character set',
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

/** The database session cannot compare ids byte for byte: the server has none of the binary
 * collations the id columns need. Not retriable: the server's collations do not change. */
export class CollationUnsupportedError extends StsError {
  constructor(wanted: readonly string[]) {
    super(
      'STS_COLLATION_UNSUPPORTED',
      `the server offers none of ${wanted.join(', ')}: ids could not be compared byte for byte`,
      {
        context: { component: 'mysql' },
        fix: 'use MariaDB 10.2+ (utf8mb4_nopad_bin) or MySQL 8 (utf8mb4_0900_bin)',
      },
    );
  }
}

/** The database was migrated by a newer checkout. Not retriable: running older code against it
 * could write rows that the newer schema's rules no longer allow. `missing` names the migrations. */
export class SchemaAheadError extends StsError {
  constructor(missing: string, cause?: unknown) {
    super(
      'STS_SCHEMA_AHEAD',
      `the database has migrations this checkout does not know: ${missing}`,
      {
        fix: 'run the newer checkout, or point STS_MYSQL_URL at another database',
        cause,
      },
    );
  }
}

/** The database predates a migration this code needs (a table is missing). Not retriable: nothing
 * changes until the migration is applied. */
export class SchemaBehindError extends StsError {
  constructor(table: string, migration: string) {
    super(
      'STS_SCHEMA_BEHIND',
      `table ${table} does not exist: the database is not migrated to ${migration}`,
      {
        fix: 'run `npx sts up` (it applies pending migrations), or point STS_MYSQL_URL at a migrated database',
      },
    );
  }
}

/** The id generator's clock passed the last millisecond 41 bits can hold. Not retriable: no id
 * can be minted until the epoch changes. */
export class IdTimeExhaustedError extends StsError {
  constructor(context: ErrorContext = {}) {
    super('STS_ID_TIME_EXHAUSTED', 'the 41-bit id time range has run out', { context });
  }
}

/** Another writer committed the same key, or moved a balance this batch was admitted against,
 * between this batch's read and its write. Retriable: the batch reruns and then finds the other
 * writer's row or balance where it first looks. */
export class ConcurrentWriteError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super('STS_CONCURRENT_WRITE', detail, { cause });
  }
}

/** Loading billing items gave more warnings than rows it skipped as duplicates: the server changed
 * a value to fit a column. Not retriable: the batch fails rather than book an amount or a key
 * other than the one given, and would be altered the same way again. */
export class LedgerWriteAlteredError extends StsError {
  constructor(items: number, warnings: number, skipped: number, samples: readonly string[]) {
    super(
      'STS_LEDGER_WRITE_ALTERED',
      `loading ${items} billing items gave ${warnings} warnings for ${skipped} skipped rows: ${samples.join('; ')}`,
    );
  }
}

/** A billing item text value is longer than its column, which the database would cut short (or
 * store as another key). Not retriable: the edge the value came through should have refused it. */
export class LedgerTextTooLongError extends StsError {
  constructor(field: string, length: number, max: number, value: string) {
    super(
      'STS_LEDGER_TEXT_TOO_LONG',
      `billing item ${field} is ${length} characters; its column holds ${max}: ${JSON.stringify(value.slice(0, 40))}…`,
      {
        context: { component: 'ledger', field },
        fix: "the input should have been refused where it entered; check that edge's length limit (runtime/edge-limits.ts)",
      },
    );
  }
}

/** A seller's balance in a cycle would pass a signed 64-bit integer. Not retriable: nothing was
 * written, and the same batch would overflow again until the carried debt is settled. */
/**
 * A guarded balance write (BalanceIncrements in 'guarded' mode) would have let an account come
 * close enough to its payout bound that some item might need refusing, so it wrote nothing. Not
 * an input problem: the caller rolls back to before its appends and redoes them reading balances.
 */
export class BalanceGuardMissedError extends StsError {
  constructor(accounts: number) {
    super('STS_BALANCE_GUARD_MISSED', `a balance write over ${accounts} account(s) found one near its payout bound; nothing was written`, {
      context: { accounts },
      fix: 'none needed when the caller reruns the batch reading balances, as upload ingestion does; anywhere else, use BalanceIncrements in its reading mode',
    });
  }
}

export class BalanceOverflowError extends StsError {
  constructor(
    account: { region: string; shop: bigint; currency: string; cycle: bigint },
    balance: bigint,
  ) {
    const { region, shop, currency, cycle } = account;
    super(
      'STS_BALANCE_OVERFLOW',
      `seller ${shop}'s ${currency} balance in cycle ${cycle} would be ${balance} minor units, past a signed 64-bit integer`,
      {
        context: { region, shopUserId: shop.toString(), cycleId: cycle.toString() },
        fix: "nothing was written; settle the seller's carried debt (a cycle's balance beyond the payout bound is carried forward) before closing again",
      },
    );
  }
}

/** No OPEN cycle within `weeks` weeks after an item's own: the calendar, not the data, is wrong.
 * Not retriable: the walk would end the same way. */
export class NoOpenCycleError extends StsError {
  constructor(region: string, natural: bigint, weeks: number) {
    super(
      'STS_NO_OPEN_CYCLE',
      `no open cycle within ${weeks} weeks after ${natural} in ${region}`,
      { context: { region, cycleId: natural } },
    );
  }
}

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

/** A payee account that a bank could not pay to (runtime/payees/payee-details.ts says why). */
export class PayeeInvalidError extends StsError {
  constructor(detail: string, fix: string, context: ErrorContext = {}) {
    super('STS_PAYEE_INVALID', detail, { context: { component: 'payees', ...context }, fix });
  }
}

/** A release or cancel of a payout that its state, or the four-eyes rule, does not allow. */
export class PayoutActionRefusedError extends StsError {
  constructor(payoutId: bigint, detail: string, fix: string, context: ErrorContext = {}) {
    super('STS_PAYOUT_ACTION_REFUSED', `payout ${payoutId}: ${detail}`, {
      context: { ...context, payoutId: payoutId.toString() },
      fix,
    });
  }
}
