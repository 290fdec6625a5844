import http from 'node:http';
import https from 'node:https';
import { GatewayUnavailableError } from './gateway-errors';

/**
 * One HTTP request and its whole response over a shared keep-alive agent, with a connect timeout
 * and an overall response timeout. Every transport failure becomes a GatewayUnavailableError whose
 * `reason` says whether the request can have reached the gateway:
 *
 *   refused, connect-timeout   never sent: the gateway did nothing
 *   timeout, reset, network    maybe sent: the gateway may have executed it
 *   oversized                  sent, but the answer is longer than we read: maybe executed
 *
 * The response body is bounded (`maxResponseBytes`): a gateway that answers with an endless or
 * huge body is cut off at the limit, before it is buffered, rather than grow this process's heap.
 */

export type TransportReason = 'refused' | 'connect-timeout' | 'timeout' | 'reset' | 'network' | 'oversized';

export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ExchangeReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface ExchangeLimits {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Bytes of response body read at most; past it the exchange fails as `oversized`. */
  maxResponseBytes: number;
}

export function exchange(
  agent: http.Agent,
  base: URL,
  ex: Exchange,
  limits: ExchangeLimits,
): Promise<ExchangeReply> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const transport = base.protocol === 'https:' ? https : http;
    const payload = ex.body === undefined ? undefined : Buffer.from(ex.body, 'utf8');
    const req = transport.request({
      agent,
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: ex.method,
      path: ex.path,
      headers: {
        accept: 'application/json',
        ...(payload
          ? { 'content-type': 'application/json', 'content-length': String(payload.length) }
          : {}),
        ...ex.headers,
      },
    });

    const finish = (err: GatewayUnavailableError | undefined, reply?: ExchangeReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(responseTimer);
      clearTimeout(connectTimer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(reply!);
    };
    const fail = (reason: TransportReason, detail: string, cause?: unknown) =>
      finish(
        new GatewayUnavailableError(reason, detail, { method: ex.method, path: ex.path }, cause),
      );

    const responseTimer = setTimeout(
      () => fail('timeout', `no complete response within ${limits.responseTimeoutMs} ms`),
      limits.responseTimeoutMs,
    );

    req.on('socket', (socket) => {
      // A pooled socket is already connected; only a new one can hang in the TCP handshake.
      if (!socket.connecting) return;
      connectTimer = setTimeout(
        () => fail('connect-timeout', `no TCP connection within ${limits.connectTimeoutMs} ms`),
        limits.connectTimeoutMs,
      );
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(classify(err), err.message, err));
    req.on('response', (res) => {
      const tooLong = () => fail('oversized', `response body is longer than ${limits.maxResponseBytes} bytes`);
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > limits.maxResponseBytes) return tooLong();
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limits.maxResponseBytes) return tooLong();
        chunks.push(chunk);
      });
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', (err) => fail('reset', `response interrupted: ${err.message}`, err));
      res.on('close', () => {
        if (!res.complete) fail('reset', 'connection closed before the response ended');
      });
    });
    req.end(payload);
  });
}

function classify(err: NodeJS.ErrnoException): TransportReason {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'network';
  }
}
