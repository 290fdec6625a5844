import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * One pino logger per process. Tokens and passwords are redacted by path, because a bearer token
 * in a log line is a credential leak (ops API security requirement).
 */
export function createLogger(name: string, level = process.env.STS_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid, svc: name },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'password'],
      censor: '[redacted]',
    },
    // bigint is not JSON; log ids and amounts as decimal strings, like every other wire format here.
    formatters: {
      log(obj) {
        for (const [k, v] of Object.entries(obj)) if (typeof v === 'bigint') obj[k] = v.toString();
        return obj;
      },
    },
  });
}
