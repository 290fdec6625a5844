import { inspect } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { format } from 'mysql2';
import { createLogger, type Logger } from '../logger';

export type { Knex };

/**
 * A knex pool for one database. `supportBigNumbers` + `bigNumberStrings` make mysql2 return
 * BIGINT and DECIMAL as strings, which callers turn into bigint; a JS number would silently round
 * 18-digit ids (DESIGN lesson 8).
 */
export interface DbOptions {
  pool?: number;
  /**
   * Whether the client offers LOAD DATA LOCAL (default true), which the ledger uses for bulk
   * writes (runtime/db/bulk-load.ts). False makes every write take the INSERT path, as on a server
   * with local_infile=OFF.
   */
  localInfile?: boolean;
}

export function createDb(mysqlUrl: string, opts: DbOptions = {}): Knex {
  const u = new URL(mysqlUrl);
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)),
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: false,
      timezone: 'Z',
      charset: 'utf8mb4',
      connectTimeout: 5000,
      queryFormat: formatQuery,
      ...(opts.localInfile === false ? { flags: ['-LOCAL_FILES'] } : {}),
    },
    pool: { min: 0, max: opts.pool ?? 10 },
    acquireConnectionTimeout: 30_000,
    log: knexLog(),
  });
}

let knexLogger: Logger | undefined;

/**
 * knex's own warnings (a pooled connection the server closed, as on a MariaDB restart) go to the
 * process's pino log as structured lines. By default knex prints them with console.log, which
 * skipped the log level and the JSON format ops filter on.
 */
function knexLog(): Knex.Config['log'] {
  const logger = () => (knexLogger ??= createLogger('knex'));
  const text = (message: unknown) => (typeof message === 'string' ? message : inspect(message, { depth: 4, breakLength: Infinity }));
  return {
    warn: (m: unknown) => logger().warn(text(m)),
    error: (m: unknown) => logger().error(text(m)),
    deprecate: (method: string, alternative: string) => logger().warn(`${method} is deprecated, use ${alternative}`),
    debug: (m: unknown) => logger().debug(text(m)),
  };
}

/**
 * mysql2's own placeholder formatting, skipped when a statement has no values. mysql2 formats
 * every query, and with no values it still scans the whole text for placeholders: for the
 * multi-row INSERTs whose text the ledger builds itself (megabytes per statement), that scan was
 * about a fifth of the upload-ingestion process's CPU.
 */
function formatQuery(sql: string, values: unknown, timezone?: Parameters<typeof format>[3]): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return format(sql, values as Parameters<typeof format>[1], false, timezone);
}
