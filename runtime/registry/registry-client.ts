import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { RegistryRefusedError, RegistryUnavailableError, SchemaIncompatibleError, SchemaUnknownError } from './registry-errors';
import { PromiseCache } from './promise-cache';

/**
 * The registry through its Confluent-compatible API. Registration goes through
 * @kafkajs/confluent-schema-registry; raw schema text by id (GET /schemas/ids/:id, so our codec
 * parses it with bigint longs, see avro-types.ts) and a subject's latest id come from our own
 * bounded requests.
 *
 * Every failure is classified the same way, whichever call met it:
 *  - no answer (refused, reset, DNS, a request or body slower than `timeoutMs`), HTTP 5xx, 408 or
 *    429, an answer longer than `maxResponseBytes` or not the JSON the API documents:
 *    STS_REGISTRY_UNAVAILABLE, retriable. The registry being down or slow says nothing about the
 *    record that needed it, so a consumer waits and retries instead of dead-lettering good input;
 *  - 404 for a schema id or subject: STS_SCHEMA_UNKNOWN, not retriable (the id a record carries
 *    will not appear later; the codec turns it into a decode failure);
 *  - 409 on registration: STS_SCHEMA_INCOMPATIBLE; any other 4xx: STS_REGISTRY_REFUSED, not
 *    retriable (the request itself is wrong).
 */
export const REGISTRY_DEFAULTS = {
  /** Per request, body included. A registry slower than this counts as down (retriable). */
  timeoutMs: 5_000,
  /** Per answer. A schema is kilobytes; a registry (or something posing as one) that streams more
   * is cut off here instead of filling the consumer's heap. */
  maxResponseBytes: 4 * 1024 * 1024,
};

export class RegistryClient {
  readonly url: string;
  private readonly lib: SchemaRegistry;
  private readonly rawById = new PromiseCache<number, string>();
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(url: string, opts: { timeoutMs?: number; maxResponseBytes?: number } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? REGISTRY_DEFAULTS.timeoutMs;
    this.maxResponseBytes = opts.maxResponseBytes ?? REGISTRY_DEFAULTS.maxResponseBytes;
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
      const status = (err as { status?: unknown }).status;
      // mappersmith reports a request that got no answer as a 400 of its own; only a real 4xx
      // answer (with the registry's JSON message) is the request's fault.
      const answered =
        typeof status === 'number' &&
        status > 0 &&
        !/ECONN|ETIMEDOUT|socket|network|timeout/i.test(message);
      throw registryFailure(`registering ${subject}`, answered ? status : undefined, message, err);
    }
  }

  async setCompatibility(subject: string, level: 'BACKWARD' | 'NONE'): Promise<void> {
    await this.request(`PUT /config/${subject}`, `/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
    });
  }

  /** Schema text for an id, cached for the life of the client (ids are immutable). */
  rawSchema(id: number): Promise<string> {
    return this.rawById.get(id, () => this.fetchRaw(id));
  }

  /** Latest registered id for a subject. */
  async latestId(subject: string): Promise<number> {
    const body = await this.request(
      `GET /subjects/${subject}/versions/latest`,
      `/subjects/${encodeURIComponent(subject)}/versions/latest`,
      {},
      `subject ${subject} is not in the registry`,
    );
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      throw registryFailure(
        `GET /subjects/${subject}/versions/latest`,
        undefined,
        'the answer has no schema id',
      );
    return id;
  }

  /** The underlying library client, for callers that want its own encode/decode. */
  get library(): SchemaRegistry {
    return this.lib;
  }

  private async fetchRaw(id: number): Promise<string> {
    const body = await this.request(
      `GET /schemas/ids/${id}`,
      `/schemas/ids/${id}`,
      {},
      `schema id ${id} is not in the registry`,
    );
    const schema = (body as { schema?: unknown } | null)?.schema;
    if (typeof schema !== 'string')
      throw registryFailure(`GET /schemas/ids/${id}`, undefined, 'the answer has no schema text');
    return schema;
  }

  /**
   * One request with the timeout covering the body too, and its outcome classified (see the
   * header). Returns the parsed JSON body; `unknown` is the message for a 404.
   */
  private async request(
    what: string,
    path: string,
    init: RequestInit,
    unknown?: string,
  ): Promise<unknown> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}${path}`, {
        ...init,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await readCapped(res, this.maxResponseBytes);
    } catch (err) {
      const detail =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : describe(err);
      throw registryFailure(what, undefined, detail, err);
    }
    if (res.status === 404 && unknown !== undefined) throw new SchemaUnknownError(unknown);
    if (!res.ok) throw registryFailure(what, res.status, text.slice(0, 300));
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw registryFailure(what, undefined, `the answer is not JSON: ${text.slice(0, 100)}`, err);
    }
  }
}

/** A failed registry call, its message naming the call: see registryError. */
export function registryFailure(
  what: string,
  status: number | undefined,
  detail: string,
  cause?: unknown,
): RegistryUnavailableError | RegistryRefusedError {
  const message = `schema registry, ${what}: ${status === undefined ? '' : `HTTP ${status} `}${detail}`;
  return registryError(message, status, cause);
}

/**
 * The one classification of a failed registry call. `status` undefined: no usable answer at all
 * (network, timeout, garbage), which is STS_REGISTRY_UNAVAILABLE like a 5xx, 408 or 429; any other
 * status is STS_REGISTRY_REFUSED, the request's own fault. `sts up` words its own message for the
 * registry's global default and classifies it here too (infra/schema-registry.ts).
 */
export function registryError(
  message: string,
  status: number | undefined,
  cause?: unknown,
): RegistryUnavailableError | RegistryRefusedError {
  if (status === undefined || status >= 500 || status === 408 || status === 429)
    return new RegistryUnavailableError(message, status, cause);
  return new RegistryRefusedError(message, status, cause);
}

/**
 * The body as UTF-8 text, refused once it passes `maxBytes` (declared or received) without reading
 * further: `res.text()` would buffer whatever the server sends.
 */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const tooLong = (n: string) => new Error(`the answer is longer than ${maxBytes} bytes (${n})`);
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLong(`content-length ${declared}`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLong(`${received} bytes received so far`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch() reports "fetch failed" and hides the reason (ECONNREFUSED, ...) in `cause`. */
function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? 'request failed'} (${cause})` : String(e.message ?? err);
}
