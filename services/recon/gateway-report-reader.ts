import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { GatewayRequestInvalidError, GatewayUnavailableError } from '../../runtime/gateway/gateway-errors';
import type { PayoutResultWire, SettlementReportItem } from '../../runtime/gateway/gateway-wire';
import { exchange, type ExchangeReply } from '../../runtime/gateway/http-exchange';

/**
 * Reads the gateway's settlement report (`GET /v1/payouts?since&limit&cursor`, wire types in
 * runtime/gateway/gateway-wire.ts) and looks single keys up (`GET /v1/payouts/:key`), for the
 * gateway-report rule. One keep-alive agent with a small pool (docs/DESIGN.md, lesson 7), separate
 * from the payment client's: a report of thousands of pages must never take the sockets payments
 * need, and no circuit breaker, because reconciliation that cannot read the report simply fails
 * this run and says so.
 */
export const REPORT_READER_DEFAULTS = {
  /** Connections to the gateway at once. Default 2. */
  maxSockets: 2,
  /** TCP connect timeout (ms). Default 2000. */
  connectTimeoutMs: 2000,
  /** Whole-response timeout of one page (ms). Default 15000. */
  responseTimeoutMs: 15_000,
  /** Report lines per page (the gateway allows 1..1000). Default 1000. */
  pageSize: 1000,
  /** Largest page body read (bytes); a page of 1,000 lines is about 300 KiB. Default 8 MiB. */
  maxResponseBytes: 8 * 1024 * 1024,
};

const decimal = z.string().regex(/^-?\d{1,19}$/);
const itemSchema = z.object({
  seq: z.number().int(),
  key: z.string(),
  payout_id: z.string(),
  shop_user_id: decimal,
  currency: z.string(),
  amount_minor: decimal,
  account: z.string(),
  status: z.enum(['EXECUTED', 'REJECTED']),
  reference: z.string(),
  failure_code: z.string().nullish(),
  executed_at: z.string(),
});
const pageSchema = z.object({ items: z.array(itemSchema), next_cursor: z.string().nullable() });
const resultSchema = z.object({
  key: z.string(),
  status: z.enum(['EXECUTED', 'REJECTED']),
  reference: z.string(),
  executed_at: z.string(),
  failure_code: z.string().nullish(),
});

export class GatewayReportReader {
  readonly options: typeof REPORT_READER_DEFAULTS;
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(baseUrl: string, opts: Partial<typeof REPORT_READER_DEFAULTS> = {}) {
    this.options = { ...REPORT_READER_DEFAULTS, ...opts };
    this.base = new URL(baseUrl);
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.options.maxSockets,
      maxFreeSockets: this.options.maxSockets,
    };
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent(agentOptions)
        : new http.Agent(agentOptions);
  }

  get url(): string {
    return this.base.origin;
  }

  /** Every execution at or after `since`, in execution order, a page at a time. */
  async *pages(since: Date): AsyncGenerator<SettlementReportItem[]> {
    let cursor: string | null = '';
    while (cursor !== null) {
      const qs = new URLSearchParams({
        since: String(since.getTime()),
        limit: String(this.options.pageSize),
      });
      if (cursor) qs.set('cursor', cursor);
      const reply = await this.get(`/v1/payouts?${qs.toString()}`);
      if (reply.status !== 200) throw this.failure(reply, 'settlement report');
      const page = parse(pageSchema, reply.body, 'settlement report page');
      yield page.items as SettlementReportItem[];
      cursor = page.next_cursor;
    }
  }

  /** What the gateway recorded for one key; undefined when it never executed it. */
  async lookup(key: string): Promise<PayoutResultWire | undefined> {
    const reply = await this.get(`/v1/payouts/${encodeURIComponent(key)}`);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw this.failure(reply, `lookup of ${key}`);
    return parse(resultSchema, reply.body, `lookup of ${key}`) as PayoutResultWire;
  }

  close(): void {
    this.agent.destroy();
  }

  private get(path: string): Promise<ExchangeReply> {
    return exchange(this.agent, this.base, { method: 'GET', path }, this.options);
  }

  private failure(reply: ExchangeReply, what: string): Error {
    const detail = `${what}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`;
    return reply.status >= 500 || reply.status === 429
      ? new GatewayUnavailableError('unavailable', detail, { component: 'recon' })
      : new GatewayRequestInvalidError(reply.status, detail, { component: 'recon' });
  }
}

function parse<T>(schema: z.ZodType<T>, body: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new GatewayUnavailableError('unavailable', `${what}: the body is not JSON`, {
      component: 'recon',
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new GatewayUnavailableError(
      'unavailable',
      `${what}: unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`,
      { component: 'recon' },
    );
  return parsed.data;
}
