import knexFactory, { type Knex } from 'knex';

export type { Knex };

/**
 * A knex pool for one database. `supportBigNumbers` + `bigNumberStrings` make mysql2 return
 * BIGINT and DECIMAL as strings, which callers turn into bigint; a JS number would silently round
 * 18-digit ids (DESIGN lesson 8).
 */
export function createDb(mysqlUrl: string, opts: { pool?: number } = {}): Knex {
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
    },
    pool: { min: 0, max: opts.pool ?? 10 },
    acquireConnectionTimeout: 30_000,
  });
}
