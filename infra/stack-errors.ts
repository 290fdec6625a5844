import { StsError } from '../runtime/errors';

/**
 * The local stack's errors: what `sts up` and the simulators it starts refuse or cannot do. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

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
