import { StsError } from '../errors';

/**
 * Which failures are worth retrying, and how long to wait before the next attempt.
 *
 * Retriable means "the same input will succeed once the world heals": a deadlock, a lock wait
 * timeout, a write that lost to a concurrent one on another node of a distributed database
 * (Galera certification, TiDB's optimistic conflicts), a node not yet ready for queries, a lost
 * or refused database connection, an exhausted knex pool. Everything else is a
 * property of the record and would fail forever, so it goes to the DLQ instead. Unknown errors
 * are NOT retriable (docs/DESIGN.md, "How the code reads"; kafkajs#1271): an endless retry of a
 * poison record stalls the partition, while a wrongly dead-lettered record can be replayed with
 * `sts dlq replay`.
 *
 * The one exception to "unknown is not retriable" is a mysql2 error flagged `fatal`: mysql2 sets
 * it only for connection-level failures, and dead-lettering a whole batch because the database
 * blinked would be far worse than one more retry.
 */

/**
 * MySQL/MariaDB server errors that say "try again", by errno and by mysql2 code. Galera reports a
 * transaction that failed certification (the same row committed first on another node) as 1213,
 * "WSREP detected deadlock/conflict and aborted the transaction"; it rolled back, like a deadlock
 * victim. MySQL Group Replication rolls such a transaction back at commit with 3101, and TiDB's
 * optimistic transactions report theirs under codes of their own.
 */
const RETRIABLE_SQL_ERRNOS = new Set([
  1213 /* ER_LOCK_DEADLOCK, and Galera certification failures */, 1205 /* ER_LOCK_WAIT_TIMEOUT */,
  1040 /* ER_CON_COUNT_ERROR */, 1053 /* ER_SERVER_SHUTDOWN */, 2006, 2013 /* server gone / lost */,
  9007 /* TiDB: write conflict */, 8002 /* TiDB: SELECT FOR UPDATE write conflict */,
  8022 /* TiDB: transaction rolled back, safe to retry */,
  3101 /* MySQL Group Replication: rolled back at commit by certification */,
]);

/**
 * 1047 (ER_UNKNOWN_COM_ERROR) is how a Galera node that is joining, donating or cut off from the
 * majority refuses work: "WSREP has not yet prepared node for application use". HAProxy moves the
 * connections off such a node within a second or two, so a retry lands on a ready one. Elsewhere
 * 1047 means a command the server does not know, which no retry heals: the message tells them apart.
 */
const NODE_NOT_READY_ERRNO = 1047;
const NODE_NOT_READY_MESSAGE = /\bWSREP\b/;

/**
 * 1180 (ER_ERROR_DURING_COMMIT) is how a Galera node refuses a COMMIT it could not replicate while
 * it was briefly outside a primary component, as when a peer is killed and the cluster changes its
 * view: "(provider status: Not connected to Primary Component)". The transaction rolled back, and
 * a moment later the node is primary again. `sts chaos --db-cluster` met it on a standby's kill.
 */
const COMMIT_NOT_REPLICATED_ERRNO = 1180;
const COMMIT_NOT_REPLICATED_MESSAGE = /Not connected to Primary Component/i;

const RETRIABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Messages without a code that mysql2/knex raise when a pooled connection died under them. */
const RETRIABLE_MESSAGES = [
  /connection is in closed state/i,
  /Connection lost/i,
  /Timeout acquiring a connection/i,
];

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** True when retrying the same work can succeed. Looks through `cause` chains and AggregateErrors. */
export function isRetriable(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  // An StsError was classified by whoever raised it; its flag is the answer, full stop.
  if (err instanceof StsError) return err.retriable;
  const e = err as ErrorShape;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && RETRIABLE_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && RETRIABLE_SQL_ERRNOS.has(e.errno)) return true;
  if (e.errno === NODE_NOT_READY_ERRNO && typeof e.message === 'string' && NODE_NOT_READY_MESSAGE.test(e.message)) return true;
  if (e.errno === COMMIT_NOT_REPLICATED_ERRNO && typeof e.message === 'string' && COMMIT_NOT_REPLICATED_MESSAGE.test(e.message)) return true;
  if (e.fatal === true) return true;
  if (
    typeof e.message === 'string' &&
    RETRIABLE_MESSAGES.some((re) => re.test(e.message as string))
  )
    return true;
  // net.connect to a host with several addresses reports an AggregateError of ECONNREFUSEDs.
  if (Array.isArray(e.errors) && e.errors.some((x) => isRetriable(x, depth + 1))) return true;
  return isRetriable(e.cause, depth + 1);
}

/** The stable code written to logs and the `sts-error-code` DLQ header. */
export function errorCode(err: unknown): string {
  if (err instanceof StsError) return err.code;
  const code = (err as ErrorShape | null)?.code;
  return typeof code === 'string' ? code : 'STS_UNEXPECTED';
}

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with "full jitter" (AWS architecture blog): a random delay in
 * [delay/2, delay]. Jitter keeps every partition of every instance from hammering a recovering
 * database in lock-step; the cap keeps a long outage from pushing the next attempt out for hours.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
