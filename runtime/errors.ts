/**
 * Every error this system raises on purpose. One root class, a stable string `code` per kind, a
 * `retriable` flag fixed by the constructor, and context fields (topic, partition, offset, upload,
 * row) so a log line or a DLQ header can say exactly where it happened.
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
  readonly code: string;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  /** One line telling an operator what to do about it; shown by the CLI under the cause. */
  readonly fix?: string;

  constructor(
    code: string,
    message: string,
    opts: { retriable?: boolean; context?: ErrorContext; fix?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = opts.retriable ?? false;
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

/** A service the stack depends on cannot be reached. Retriable: it may come back. */
export class ServiceUnavailableError extends StsError {
  constructor(component: string, address: string, detail: string, fix: string, cause?: unknown) {
    super('STS_SERVICE_UNAVAILABLE', `${component} at ${address} is unreachable: ${detail}`, {
      retriable: true,
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

/** A singleton role's MySQL named lock (the outbox relay's, say) is held or was lost. Retriable. */
export class LockUnavailableError extends StsError {
  constructor(lockName: string, detail: string, cause?: unknown) {
    super('STS_LOCK_UNAVAILABLE', `lock ${lockName}: ${detail}`, {
      retriable: true,
      context: { lockName },
      fix: 'another instance holds the role; this one waits as standby and takes over if it stops',
      cause,
    });
  }
}

/** The id generator's worker lease expired, was taken over, or was released. Never retriable:
 * the generator must stop for good and a new lease be acquired (DESIGN lesson 1). */
export class IdLeaseLostError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_ID_LEASE_LOST', `id worker lease lost: ${detail}`, {
      context,
      fix: 'acquire a new worker lease; check database reachability and event-loop stalls',
    });
  }
}

/** Every worker id of a datacenter is leased. Retriable: a lease may expire or be released. */
export class IdLeasesExhaustedError extends StsError {
  constructor(datacenterId: number, slots: number) {
    const message = `all ${slots} worker ids of datacenter ${datacenterId} are leased`;
    super('STS_ID_LEASES_EXHAUSTED', message, {
      retriable: true,
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
      retriable: true,
      context: { topic },
      fix: `check that ${topic} exists (npx sts up creates every DLQ) and the broker is reachable`,
      cause,
    });
  }
}
