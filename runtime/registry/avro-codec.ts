import type avro from 'avsc';
import { CONFIG_DEFAULTS } from '../config';
import { StsError, type ErrorContext } from '../errors';
import { DecodeError, EncodeError } from './registry-errors';
import { AVRO_BOUNDS_DEFAULTS, checkAvroBounds, type AvroBoundsLimits } from './avro-bounds';
import { parseAvro } from './avro-types';
import { PromiseCache } from './promise-cache';
import type { RegistryClient } from './registry-client';

/**
 * Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the Avro
 * binary body. Decoding uses the WRITER's schema (by id) resolved to the reader's, so a consumer
 * built on v1 reads v2 events that added optional fields.
 *
 * Everything read is bounded before avsc sees it (avro-bounds.ts): a record longer than
 * `maxRecordBytes` is refused unread, and the body is walked over the writer's schema so no count
 * or length it claims can exceed the bytes it has. What a decode can allocate is therefore
 * proportional to the record's size (see docs/SECURITY.md for the bound), whatever the bytes say.
 *
 * Failure codes: STS_DECODE_FAILED (too large, bad magic, truncated, unknown schema id, a count or
 * length past the end, invalid body; never retriable), and the registry's own retriable
 * STS_REGISTRY_UNAVAILABLE when the writer's schema cannot be fetched right now.
 */
export interface AvroCodecOptions {
  /** Largest record value decoded, header included (STS_MAX_RECORD_BYTES). */
  maxRecordBytes?: number;
  /** Zero-size items (null, records of nulls) one record may hold, and the nesting limit. */
  bounds?: Partial<AvroBoundsLimits>;
}

export const DEFAULT_MAX_RECORD_BYTES = Number(CONFIG_DEFAULTS.STS_MAX_RECORD_BYTES);

export class AvroCodec {
  private readonly typeById = new PromiseCache<number, avro.Type>();
  private readonly resolvers = new Map<string, avro.Resolver>();
  private readonly encoders = new PromiseCache<number, (value: unknown) => Buffer>();
  readonly maxRecordBytes: number;
  private readonly bounds: AvroBoundsLimits;

  constructor(
    private readonly registry: RegistryClient,
    opts: AvroCodecOptions = {},
  ) {
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.bounds = { ...AVRO_BOUNDS_DEFAULTS, ...opts.bounds };
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    return (await this.encoderFor(schemaId))(value);
  }

  /**
   * A synchronous encoder for one schema id, for callers that encode many values: the schema is
   * looked up once instead of awaited per value. One per schema id, kept: it owns a scratch buffer.
   */
  encoderFor(schemaId: number): Promise<(value: unknown) => Buffer> {
    return this.encoders.get(schemaId, () => this.buildEncoder(schemaId));
  }

  private async buildEncoder(schemaId: number): Promise<(value: unknown) => Buffer> {
    const type = await this.typeFor(schemaId);
    // Values are written into this encoder's own scratch buffer, grown to the largest value seen,
    // then copied out once. avsc's toBuffer writes into a shared 1 KiB buffer and, for anything
    // larger (an upload chunk is half a megabyte), walks the value twice.
    let scratch = Buffer.allocUnsafe(64 * 1024);
    scratch.writeUInt8(0, 0);
    scratch.writeUInt32BE(schemaId, 1);
    return (value) => {
      // isValid first without a hook (the fast path); the hook only runs to explain a failure.
      if (!type.isValid(value)) {
        const errors: string[] = [];
        type.isValid(value, { errorHook: (p) => errors.push(p.join('.') || '(root)') });
        throw new EncodeError(schemaId, errors);
      }
      let end = type.encode(value, scratch, 5);
      if (end < 0) {
        // encode() returns minus the bytes it lacked.
        const grown = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
        scratch.copy(grown, 0, 0, 5);
        scratch = grown;
        end = type.encode(value, scratch, 5);
      }
      return Buffer.from(scratch.subarray(0, end));
    };
  }

  /** Decodes with the writer's schema; when `reader` is given, resolves into the reader's shape. */
  async decode<T = unknown>(
    buf: Buffer | null,
    context: ErrorContext = {},
    reader?: avro.Type,
  ): Promise<{ schemaId: number; value: T }> {
    if (!buf || buf.length < 5)
      throw new DecodeError(
        `message is ${buf ? buf.length : 0} bytes, shorter than the 5-byte header`,
        context,
      );
    // Refused before anything is read, the schema id included: the size alone is the verdict.
    if (buf.length > this.maxRecordBytes)
      throw new DecodeError(
        `message is ${buf.length} bytes, larger than the ${this.maxRecordBytes}-byte limit (STS_MAX_RECORD_BYTES)`,
        context,
      );
    if (buf.readUInt8(0) !== 0)
      throw new DecodeError(
        `unknown magic byte ${buf.readUInt8(0)} (expected 0, the Confluent wire format)`,
        context,
      );
    const schemaId = buf.readUInt32BE(1);
    let writer: avro.Type;
    try {
      writer = await this.typeFor(schemaId);
    } catch (err) {
      // The registry client classifies its failures: down, slow or 5xx is retriable (the record
      // waits), an id it does not know is not. Anything else (a schema text avsc cannot parse)
      // is this record's schema id being wrong, a decode failure.
      if (err instanceof StsError && err.retriable) throw err;
      const why = err instanceof Error ? `: ${err.message}` : '';
      throw new DecodeError(
        `schema id ${schemaId} cannot be resolved${why}`,
        { ...context, schemaId },
        err,
      );
    }
    const body = buf.subarray(5);
    checkAvroBounds(writer, body, context, this.bounds, schemaId);
    try {
      if (!reader) return { schemaId, value: writer.fromBuffer(body) as T };
      const key = `${schemaId}:${reader.name ?? ''}:${reader.fingerprint().toString('hex')}`;
      let resolver = this.resolvers.get(key);
      if (!resolver) {
        resolver = reader.createResolver(writer);
        this.resolvers.set(key, resolver);
      }
      return { schemaId, value: reader.fromBuffer(body, resolver) as T };
    } catch (err) {
      throw new DecodeError(
        `Avro body does not match schema ${schemaId}: ${(err as Error).message}`,
        { ...context, schemaId },
        err,
      );
    }
  }

  typeFor(schemaId: number): Promise<avro.Type> {
    return this.typeById.get(schemaId, async () =>
      parseAvro(await this.registry.rawSchema(schemaId)),
    );
  }
}
