import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SchemaIncompatibleError, StsError } from '../errors';
import { PromiseCache } from './promise-cache';

/**
 * The registry through its Confluent-compatible API. Registration goes through
 * @kafkajs/confluent-schema-registry; raw schema text by id comes from GET /schemas/ids/:id so our
 * codec parses it with bigint longs (see avro-types.ts).
 *
 * Failure codes: STS_SCHEMA_INCOMPATIBLE (409 from the registry), STS_REGISTRY_ERROR.
 */
export class RegistryClient {
  readonly url: string;
  private readonly lib: SchemaRegistry;
  private readonly rawById = new PromiseCache<number, string>();

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
    this.lib = new SchemaRegistry({ host: this.url, retry: { retries: 3 } });
  }

  /** Registers `schema` under `subject` with BACKWARD compatibility; returns the schema id. */
  async register(subject: string, schema: string): Promise<number> {
    await this.setCompatibility(subject, 'BACKWARD');
    try {
      const { id } = await this.lib.register({ type: SchemaType.AVRO, schema }, { subject });
      return id;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/409|incompatible/i.test(message)) throw new SchemaIncompatibleError(subject, message);
      throw new StsError('STS_REGISTRY_ERROR', `registering ${subject}: ${message}`, { retriable: true, cause: err });
    }
  }

  async setCompatibility(subject: string, level: 'BACKWARD' | 'NONE'): Promise<void> {
    const res = await fetch(`${this.url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new StsError('STS_REGISTRY_ERROR', `PUT /config/${subject}: HTTP ${res.status} ${await res.text()}`, { retriable: res.status >= 500 });
  }

  /** Schema text for an id, cached for the life of the client (ids are immutable). */
  rawSchema(id: number): Promise<string> {
    return this.rawById.get(id, () => this.fetchRaw(id));
  }

  /** Latest registered id for a subject. */
  async latestId(subject: string): Promise<number> {
    return this.lib.getLatestSchemaId(subject);
  }

  /** The underlying library client, for callers that want its own encode/decode. */
  get library(): SchemaRegistry {
    return this.lib;
  }

  private async fetchRaw(id: number): Promise<string> {
    const res = await fetch(`${this.url}/schemas/ids/${id}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) throw new StsError('STS_SCHEMA_UNKNOWN', `schema id ${id} is not in the registry`);
    if (!res.ok) throw new StsError('STS_REGISTRY_ERROR', `GET /schemas/ids/${id}: HTTP ${res.status}`, { retriable: true });
    const body = (await res.json()) as { schema: string };
    return body.schema;
  }
}
