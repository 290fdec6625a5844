import { StsError, type ErrorContext } from '../errors';

/**
 * Errors of the database layer: session modes, collations, the schema version, leases, statement size. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A singleton role's lease (runtime/db/lease.ts; the outbox relay's, say) is held or was lost. Retriable. */
export class LockUnavailableError extends StsError {
  constructor(lockName: string, detail: string, cause?: unknown) {
    super('STS_LOCK_UNAVAILABLE', `lock ${lockName}: ${detail}`, {
      context: { lockName },
      fix: 'another instance holds the role; this one waits as standby and takes over if it stops',
      cause,
    });
  }
}

/** The database session cannot be put in the SQL mode, time zone or character set the code
 * relies on (strict, backslash escapes, backtick identifiers, UTC, utf8mb4). Not retriable: the
 * server refuses the setting itself, so every connection would fail the same way. */
export class SqlModeUnsupportedError extends StsError {
  constructor(detail: string, context: ErrorContext = {}, cause?: unknown) {
    super('STS_SQL_MODE_UNSUPPORTED', `the database session cannot be pinned: ${detail}`, {
      context: { component: 'mysql', ...context },
      fix: 'use MariaDB 10.4+ or MySQL 8 without a proxy that rewrites SET SESSION, and let the sts user set sql_mode, time_zone and the connection character set',
      cause,
    });
  }
}

/** The database session cannot compare ids byte for byte: the server has none of the binary
 * collations the id columns need. Not retriable: the server's collations do not change. */
export class CollationUnsupportedError extends StsError {
  constructor(wanted: readonly string[]) {
    super(
      'STS_COLLATION_UNSUPPORTED',
      `the server offers none of ${wanted.join(', ')}: ids could not be compared byte for byte`,
      {
        context: { component: 'mysql' },
        fix: 'use MariaDB 10.2+ (utf8mb4_nopad_bin) or MySQL 8 (utf8mb4_0900_bin)',
      },
    );
  }
}

/** The database was migrated by a newer checkout. Not retriable: running older code against it
 * could write rows that the newer schema's rules no longer allow. `missing` names the migrations. */
export class SchemaAheadError extends StsError {
  constructor(missing: string, cause?: unknown) {
    super(
      'STS_SCHEMA_AHEAD',
      `the database has migrations this checkout does not know: ${missing}`,
      {
        fix: 'run the newer checkout, or point STS_MYSQL_URL at another database',
        cause,
      },
    );
  }
}

/** The database predates a migration this code needs (a table is missing). Not retriable: nothing
 * changes until the migration is applied. */
export class SchemaBehindError extends StsError {
  constructor(table: string, migration: string) {
    super(
      'STS_SCHEMA_BEHIND',
      `table ${table} does not exist: the database is not migrated to ${migration}`,
      {
        fix: 'run `npx sts up` (it applies pending migrations), or point STS_MYSQL_URL at a migrated database',
      },
    );
  }
}

/** A billing item text value is longer than its column, which the database would cut short (or
 * store as another key). Not retriable: the edge the value came through should have refused it. */
export class LedgerTextTooLongError extends StsError {
  constructor(field: string, length: number, max: number, value: string) {
    super(
      'STS_LEDGER_TEXT_TOO_LONG',
      `billing item ${field} is ${length} characters; its column holds ${max}: ${JSON.stringify(value.slice(0, 40))}…`,
      {
        context: { component: 'ledger', field },
        fix: "the input should have been refused where it entered; check that edge's length limit (runtime/edge-limits.ts)",
      },
    );
  }
}

/** A seller's balance in a cycle would pass a signed 64-bit integer. Not retriable: nothing was
 * written, and the same batch would overflow again until the carried debt is settled. */
