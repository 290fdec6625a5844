import { z } from 'zod';
import { ConfigError } from '../errors';

/**
 * Gateway client options. Every default lives here, next to the schema that validates it.
 * The breaker defaults are chosen so that at a steady load an outage opens the breaker within
 * about one second: failures are counted over a 1 s rolling window, and once half the requests
 * in it fail (and there were enough of them) the breaker opens and callers can pause.
 */
export const GATEWAY_CLIENT_DEFAULTS = {
  /** Base URL of the gateway. Default http://127.0.0.1:7071 (pass loadConfig().gatewayUrl). */
  baseUrl: 'http://127.0.0.1:7071',
  /** Most connections open to the gateway at once; further requests queue for a socket
   * (docs/DESIGN.md, lesson 7: a connection per request under load exhausted ports). Default 32. */
  maxSockets: 32,
  /** Idle connections kept for reuse; at most maxSockets. Default 32. */
  maxFreeSockets: 32,
  /** Delay before TCP keep-alive probes on an idle connection, in ms. Default 1000. */
  keepAliveMsecs: 1000,
  /** Time to establish a TCP connection, in ms. A connect timeout means nothing was sent. Default 1000. */
  connectTimeoutMs: 1000,
  /** Time from issuing a request (including the wait for a pooled socket) to the end of the
   * response, in ms. After it the outcome is unknown: the payout may have executed. Default 5000. */
  responseTimeoutMs: 5000,
  /** Largest response body read from the gateway, in bytes; a longer one is cut off and its
   * outcome treated as unknown (the payout may have executed), so a misbehaving gateway cannot
   * make this process buffer without limit. Default 65536; a result is a few hundred bytes. */
  maxResponseBytes: 64 * 1024,
  /** Rolling window over which the breaker counts requests and failures, in ms. Default 1000. */
  breakerWindowMs: 1000,
  /** Buckets in that window; the window slides by breakerWindowMs / breakerBuckets. Default 10. */
  breakerBuckets: 10,
  /** Requests the window must hold before the breaker may open, so one failure in a quiet
   * period cannot open it. Default 10. */
  breakerVolumeThreshold: 10,
  /** Failure share, in percent, above which the breaker opens. Default 50. */
  breakerErrorPercentage: 50,
  /** Time the breaker stays open before letting one trial request through (half-open), in ms.
   * Default 5000. */
  breakerResetTimeoutMs: 5000,
};

export type GatewayClientOptions = typeof GATEWAY_CLIENT_DEFAULTS;

const positiveInt = z.number().int().min(1);

const optionsSchema = z
  .object({
    baseUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
    maxSockets: positiveInt.max(1024),
    maxFreeSockets: positiveInt.max(1024),
    keepAliveMsecs: positiveInt,
    connectTimeoutMs: positiveInt,
    responseTimeoutMs: positiveInt,
    maxResponseBytes: positiveInt.max(64 * 1024 * 1024),
    breakerWindowMs: z.number().int().min(100),
    breakerBuckets: positiveInt.max(100),
    breakerVolumeThreshold: z.number().int().min(0),
    breakerErrorPercentage: z.number().min(1).max(100),
    breakerResetTimeoutMs: positiveInt,
  })
  .strict()
  .refine((o) => o.maxFreeSockets <= o.maxSockets, {
    message: 'maxFreeSockets must not exceed maxSockets; lower maxFreeSockets',
    path: ['maxFreeSockets'],
  })
  .refine((o) => o.connectTimeoutMs < o.responseTimeoutMs, {
    message: 'connectTimeoutMs must be lower than responseTimeoutMs, which includes the connect',
    path: ['connectTimeoutMs'],
  })
  .refine((o) => o.breakerWindowMs % o.breakerBuckets === 0, {
    message:
      'breakerWindowMs must be a multiple of breakerBuckets so every bucket has the same length',
    path: ['breakerWindowMs'],
  });

export function parseGatewayClientOptions(
  opts: Partial<GatewayClientOptions> = {},
): GatewayClientOptions {
  const parsed = optionsSchema.safeParse({ ...GATEWAY_CLIENT_DEFAULTS, ...opts });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'options';
    throw new ConfigError(
      `gateway client ${field}: ${issue?.message ?? 'invalid'}`,
      `fix GatewayClient option ${field}`,
    );
  }
  return { ...parsed.data, baseUrl: parsed.data.baseUrl.replace(/\/+$/, '') };
}
