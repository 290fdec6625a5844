import { StsError, type ErrorContext } from '../errors';

/**
 * Errors of the schema registry and of Avro encoding and decoding. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

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
