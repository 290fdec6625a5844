import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import CircuitBreaker from 'opossum';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { GatewayKeyConflictError, GatewayRequestInvalidError, GatewayUnavailableError } from './gateway-errors';
import { parseGatewayClientOptions, type GatewayClientOptions } from './gateway-client-options';
import {
  IDEMPOTENCY_KEY_HEADER,
  REPLAYED_HEADER,
  type PayoutInstructionWire,
} from './gateway-wire';
import { exchange, type Exchange, type ExchangeReply, type TransportReason } from './http-exchange';

/**
 * The client payment-notify uses to pay through the gateway (docs/DESIGN.md, lessons 6 and 7): one
 * keep-alive agent with a bounded pool, connect and response timeouts, and a circuit breaker that
 * fails fast during an outage and tells its owner so a consumer can pause instead of piling up
 * timeouts.
 *
 * Outcomes are data, not exceptions, because "we don't know" is a normal state for a payment:
 *   executed / rejected   the gateway's durable answer for this key (rejected is permanent)
 *   not-found             (lookup only) the gateway never executed this key
 *   unknown               no trustworthy answer; look the key up later, never resend with a new key
 * Only caller bugs throw: a key reused for another payout (422, GatewayKeyConflictError) and a
 * request that breaks the contract (other 4xx, GatewayRequestInvalidError).
 */

/** A payout as our code holds it; the client turns ids and amounts into decimal strings. */
export interface GatewayPayout {
  payoutId: bigint;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  account: string;
}

/**
 * Why an outcome is unknown. Nothing was sent for `breaker-open`, `refused` and
 * `connect-timeout`; for the others the gateway may have executed the payout.
 */
export type UnknownReason = TransportReason | 'unavailable' | 'breaker-open' | 'bad-response';

export type SettledOutcome =
  | { kind: 'executed'; reference: string; executedAt: string; replayed: boolean }
  | {
      kind: 'rejected';
      failureCode: string;
      reference: string;
      executedAt: string;
      replayed: boolean;
    };
export type UnknownOutcome = { kind: 'unknown'; reason: UnknownReason; detail: string };
export type SubmitOutcome = SettledOutcome | UnknownOutcome;
export type LookupOutcome = SettledOutcome | { kind: 'not-found' } | UnknownOutcome;

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Breaker transitions, for pausing and resuming consumption. */
export interface GatewayClientEvents {
  breakerOpen: [];
  breakerHalfOpen: [];
  breakerClose: [];
}

// Lengths are the columns' (payout.gateway_reference and failure_code are VARCHAR(64)): an answer
// that cannot be stored as it is, is an unreadable answer, never a value to truncate.
const resultSchema = z.object({
  key: z.string().max(255),
  status: z.enum(['EXECUTED', 'REJECTED']),
  reference: z.string().min(1).max(64),
  failure_code: z.string().min(1).max(64).optional(),
  executed_at: z.string().max(64),
});

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export class GatewayClient extends EventEmitter<GatewayClientEvents> {
  readonly options: GatewayClientOptions;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly breaker: CircuitBreaker<[Exchange], ExchangeReply>;

  constructor(opts: Partial<GatewayClientOptions> = {}) {
    super();
    this.options = parseGatewayClientOptions(opts);
    const o = this.options;
    this.base = new URL(o.baseUrl);
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: o.keepAliveMsecs,
      maxSockets: o.maxSockets,
      maxFreeSockets: o.maxFreeSockets,
      scheduling: 'lifo' as const,
    };
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent(agentOptions)
        : new http.Agent(agentOptions);
    const limits = {
      connectTimeoutMs: o.connectTimeoutMs,
      responseTimeoutMs: o.responseTimeoutMs,
      maxResponseBytes: o.maxResponseBytes,
    };
    this.breaker = new CircuitBreaker(
      async (ex: Exchange) => {
        const reply = await exchange(this.agent, this.base, ex, limits);
        // 5xx and 429 say the gateway is unwell: they count against the breaker. 4xx do not.
        if (reply.status >= 500 || reply.status === 429) {
          throw new GatewayUnavailableError(
            'unavailable',
            `HTTP ${reply.status} ${errorText(reply)}`,
            { path: ex.path },
          );
        }
        return reply;
      },
      {
        // The exchange enforces its own timeouts; opossum's would race them with a second clock.
        timeout: false,
        resetTimeout: o.breakerResetTimeoutMs,
        rollingCountTimeout: o.breakerWindowMs,
        rollingCountBuckets: o.breakerBuckets,
        volumeThreshold: o.breakerVolumeThreshold,
        errorThresholdPercentage: o.breakerErrorPercentage,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
      },
    );
    this.breaker.on('open', () => this.emit('breakerOpen'));
    this.breaker.on('halfOpen', () => this.emit('breakerHalfOpen'));
    this.breaker.on('close', () => this.emit('breakerClose'));
  }

  /** Sends a payout under an idempotency key; the same key and payout may be sent any number of times. */
  async submit(key: string, payout: GatewayPayout): Promise<SubmitOutcome> {
    assertKey(key);
    const body: PayoutInstructionWire = {
      payout_id: payout.payoutId.toString(),
      shop_user_id: payout.shopUserId.toString(),
      currency: payout.currency,
      amount_minor: payout.amountMinor.toString(),
      account: payout.account,
    };
    const reply = await this.call({
      method: 'POST',
      path: '/v1/payouts',
      headers: { [IDEMPOTENCY_KEY_HEADER]: key },
      body: JSON.stringify(body),
    });
    if (reply.kind === 'unknown') return reply;
    const { status } = reply.res;
    if (status === 200) return settled(key, reply.res);
    if (status === 422) throw new GatewayKeyConflictError(key, errorText(reply.res));
    throw new GatewayRequestInvalidError(status, errorText(reply.res), { key });
  }

  /** What the gateway recorded for a key; the compensator's question after an unknown outcome. */
  async lookup(key: string): Promise<LookupOutcome> {
    assertKey(key);
    const reply = await this.call({
      method: 'GET',
      path: `/v1/payouts/${encodeURIComponent(key)}`,
    });
    if (reply.kind === 'unknown') return reply;
    const { status } = reply.res;
    if (status === 200) return settled(key, reply.res);
    if (status === 404) return { kind: 'not-found' };
    throw new GatewayRequestInvalidError(status, errorText(reply.res), { key });
  }

  get breakerState(): BreakerState {
    if (this.breaker.halfOpen) return 'halfOpen';
    return this.breaker.opened ? 'open' : 'closed';
  }

  /** Stops the breaker's timers and closes every pooled connection. */
  close(): void {
    this.breaker.shutdown();
    this.agent.destroy();
    this.removeAllListeners();
  }

  private async call(
    ex: Exchange,
  ): Promise<{ kind: 'reply'; res: ExchangeReply } | UnknownOutcome> {
    try {
      return { kind: 'reply', res: await this.breaker.fire(ex) };
    } catch (err) {
      if (err instanceof GatewayUnavailableError)
        return { kind: 'unknown', reason: err.reason as UnknownReason, detail: err.message };
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        return {
          kind: 'unknown',
          reason: 'breaker-open',
          detail: 'the circuit breaker is open; nothing was sent',
        };
      }
      throw err;
    }
  }
}

function settled(key: string, res: ExchangeReply): SettledOutcome | UnknownOutcome {
  let parsed: z.infer<typeof resultSchema>;
  try {
    parsed = resultSchema.parse(JSON.parse(res.body));
  } catch (err) {
    return {
      kind: 'unknown',
      reason: 'bad-response',
      detail: `unreadable 200 body: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  // An answer for another key would be the gateway's bug; trusting it could mark the wrong payout paid.
  if (parsed.key !== key)
    return {
      kind: 'unknown',
      reason: 'bad-response',
      detail: `answer names key ${parsed.key}, not ${key}`,
    };
  const replayed = res.headers[REPLAYED_HEADER] === 'true';
  if (parsed.status === 'EXECUTED')
    return {
      kind: 'executed',
      reference: parsed.reference,
      executedAt: parsed.executed_at,
      replayed,
    };
  return {
    kind: 'rejected',
    failureCode: parsed.failure_code ?? 'UNSPECIFIED',
    reference: parsed.reference,
    executedAt: parsed.executed_at,
    replayed,
  };
}

function assertKey(key: string): void {
  // The key goes into a header and a path; anything outside printable ASCII is a caller bug.
  if (!KEY_PATTERN.test(key))
    throw new ValidationError(
      'gateway idempotency key must be 1-255 printable ASCII characters without spaces',
      { key },
    );
}

function errorText(res: ExchangeReply): string {
  try {
    const body = JSON.parse(res.body) as { error?: string; message?: string };
    return [body.error, body.message].filter(Boolean).join(': ') || res.body.slice(0, 200);
  } catch {
    return res.body.slice(0, 200);
  }
}
