import { inspect } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { format } from 'mysql2';
import { SqlModeUnsupportedError } from './db-errors';
import { createLogger, type Logger } from '../logger';

export type { Knex };

/**
 * A knex pool for one database. `supportBigNumbers` + `bigNumberStrings` make mysql2 return
 * BIGINT and DECIMAL as strings, which callers turn into bigint; a JS number would silently round
 * 18-digit ids (docs/DESIGN.md, lesson 8).
 */
export interface DbOptions {
  pool?: number;
  /**
   * Whether the client offers LOAD DATA LOCAL (default true), which the ledger uses for bulk
   * writes (runtime/db/bulk-load.ts). False makes every write take the INSERT path, as on a server
   * with local_infile=OFF.
   */
  localInfile?: boolean;
  /**
   * The session sql_mode, default SESSION_SQL_MODE. Tests pass a mode the server cannot set, to
   * see the pool refuse; NO_BACKSLASH_ESCAPES and ANSI_QUOTES are refused here whatever is asked.
   */
  sqlMode?: readonly string[];
}

/**
 * The SQL mode every session runs in, set when a connection opens, whatever the server's global
 * mode is:
 *   - strict (STRICT_ALL_TABLES, STRICT_TRANS_TABLES): a value too long for its column, or not of
 *     its type, fails the statement instead of being truncated or converted with a warning;
 *   - NO_ZERO_DATE, NO_ZERO_IN_DATE, ERROR_FOR_DIVISION_BY_ZERO: no 0000-00-00 and no NULL from
 *     x / 0 stored in place of an error;
 *   - NO_ENGINE_SUBSTITUTION: a table is InnoDB or is not created;
 *   - NOT NO_BACKSLASH_ESCAPES: every value is escaped client-side with backslashes (mysql2's
 *     escape, the ledger's SQL text, LOAD DATA fields); under that mode `\'` ends the string and
 *     the rest of a memo would run as SQL;
 *   - NOT ANSI_QUOTES: identifiers are in backticks and `"` quotes strings.
 */
export const SESSION_SQL_MODE: readonly string[] = Object.freeze([
  'STRICT_TRANS_TABLES',
  'STRICT_ALL_TABLES',
  'NO_ZERO_IN_DATE',
  'NO_ZERO_DATE',
  'ERROR_FOR_DIVISION_BY_ZERO',
  'NO_ENGINE_SUBSTITUTION',
]);
const FORBIDDEN_MODES = ['NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES', 'ANSI', 'PAD_CHAR_TO_FULL_LENGTH'];
/** NOW(3), CURRENT_TIMESTAMP and FROM_UNIXTIME in UTC: the lease floor and every stamp assume it. */
const SESSION_TIME_ZONE = '+00:00';

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
    pool: {
      min: 0,
      max: opts.pool ?? 10,
      // A create error reaches the caller's first query at once (knex's default, pinned here):
      // a server that refuses the session settings must stop the process, not stall the pool.
      propagateCreateError: true,
      afterCreate: (conn: RawConnection, done: (err: Error | null, conn: RawConnection) => void) => {
        pinSession(conn, opts.sqlMode ?? SESSION_SQL_MODE).then(
          () => done(null, conn),
          (err: Error) => {
            conn.destroy();
            done(err, conn);
          },
        );
      },
    },
    acquireConnectionTimeout: 30_000,
    log: knexLog(),
  });
}

/** The part of mysql2's callback connection the session pinning uses. */
interface RawConnection {
  query(sql: string, cb: (err: Error | null, rows?: unknown) => void): void;
  destroy(): void;
}

/**
 * Sets the session's sql_mode, time zone, character set and sql_notes (a Note, such as trailing
 * spaces cut to fit a VARCHAR, must count in a statement's warnings: the ledger's LOAD DATA
 * check reads that count), then reads them back: a server or
 * proxy that accepts the SET and keeps another value is refused as surely as one that rejects it.
 * Throws SqlModeUnsupportedError (not retriable), which the pool hands to the first query; a
 * connection lost on the way is thrown as it came (retriable).
 */
export async function pinSession(conn: RawConnection, sqlMode: readonly string[]): Promise<void> {
  const bad = sqlMode.filter((m) => FORBIDDEN_MODES.includes(m) || !/^[A-Z_]+$/.test(m));
  if (bad.length > 0) throw new SqlModeUnsupportedError(`sql_mode ${bad.join(',')} is not allowed: values are escaped with backslashes and identifiers quoted with backticks`);
  const query = (sql: string) =>
    new Promise<unknown>((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows))));
  const wanted = sqlMode.join(',');
  try {
    await query(
      `SET SESSION sql_mode = '${wanted}', time_zone = '${SESSION_TIME_ZONE}', sql_notes = 1, ` +
        'character_set_client = utf8mb4, character_set_connection = utf8mb4, character_set_results = utf8mb4',
    );
  } catch (err) {
    // A connection lost mid-SET (a database node killed behind HAProxy, which accepted the login
    // and then closed) says nothing about the modes: it stays the retriable error it is, or a
    // processor would dead-letter its record over a failover.
    if ((err as { fatal?: unknown }).fatal === true) throw err;
    throw new SqlModeUnsupportedError(`SET SESSION sql_mode = '${wanted}' failed: ${(err as Error).message}`, { sqlMode: wanted }, err);
  }
  const [row] = (await query('SELECT @@SESSION.sql_mode AS mode, @@SESSION.time_zone AS tz, @@SESSION.character_set_connection AS cs, @@SESSION.sql_notes AS notes')) as Array<{ mode: string; tz: string; cs: string; notes: number | string }>;
  const got = new Set((row?.mode ?? '').split(',').filter(Boolean));
  const missing = sqlMode.filter((m) => !got.has(m));
  const extra = [...got].filter((m) => FORBIDDEN_MODES.includes(m));
  if (missing.length > 0 || extra.length > 0 || row?.tz !== SESSION_TIME_ZONE || row?.cs !== 'utf8mb4' || Number(row?.notes) !== 1) {
    throw new SqlModeUnsupportedError(`the session reads back sql_mode '${row?.mode}', time_zone '${row?.tz}', character set '${row?.cs}', sql_notes ${row?.notes} after asking for '${wanted}', '${SESSION_TIME_ZONE}', 'utf8mb4', 1`, { sqlMode: row?.mode });
  }
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
