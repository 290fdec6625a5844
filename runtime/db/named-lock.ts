import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import type { Knex } from 'knex';
import { LockUnavailableError } from '../errors';
import { pinSession, SESSION_SQL_MODE } from './knex';

/**
 * A MySQL named lock (GET_LOCK) held on a DEDICATED connection for as long as the holder lives.
 *
 * Why a named lock and not a lease row: MySQL releases it the moment the holding session ends, so
 * a crashed or partitioned holder frees the role without waiting out a lease, and no clock is
 * involved. Why a dedicated connection: knex pools connections and hands each query to whichever
 * one is free, so a lock taken through knex would belong to a random pooled session and be
 * released (or leaked) behind our back.
 *
 * Named locks are server-wide, not per database, so the name includes the database: two
 * pipelines (or two test databases) on one server must not block each other.
 *
 * Failure codes: STS_LOCK_UNAVAILABLE (the lock is lost, or the lock connection is broken).
 */
export class NamedLock {
  private conn: mysql.Connection | undefined;
  private lost = false;
  private resolvedName: string | undefined;

  constructor(
    private readonly db: Knex,
    private readonly baseName: string,
    private readonly onLost: (err: unknown) => void = () => undefined,
  ) {}

  /** The full lock name once the database is known; undefined before the first acquire. */
  get name(): string | undefined {
    return this.resolvedName;
  }

  /** True while we believe we hold the lock; `assertHeld()` confirms it with the server. */
  get held(): boolean {
    return this.conn !== undefined && !this.lost;
  }

  /** The lock session's CONNECTION_ID(), for operators (and tests) that need to KILL it. */
  get connectionId(): number | undefined {
    return this.conn?.threadId;
  }

  /** One non-blocking attempt (GET_LOCK timeout 0). Standbys call this on every poll. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    await this.close();
    const conn = await mysql.createConnection(await this.connectionConfig());
    // A lock session with no 'error' listener would crash the process when MySQL drops it;
    // instead a drop marks the lock lost, and the holder stops before its next batch.
    const markLost = (err?: unknown) => {
      if (this.conn !== conn || this.lost) return;
      this.lost = true;
      this.onLost(err);
    };
    conn.on('error', markLost);
    conn.on('end', markLost);
    try {
      // The lock session is outside the pool, so it is pinned here like every pooled session.
      await pinSession(
        { query: (sql, cb) => void conn.query(sql).then(([rows]) => cb(null, rows), (err: Error) => cb(err)), destroy: () => conn.destroy() },
        SESSION_SQL_MODE,
      );
      const [dbRows] = await conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
      this.resolvedName = lockName(this.baseName, String(dbRows[0]?.db ?? ''));
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [
        this.resolvedName,
      ]);
      if (Number(rows[0]?.got) !== 1) {
        await conn.end().catch(() => conn.destroy());
        return false;
      }
    } catch (err) {
      conn.destroy();
      throw err;
    }
    this.conn = conn;
    this.lost = false;
    return true;
  }

  /**
   * Asks the server whether our session still owns the lock. Called before every batch: a
   * holder whose session was killed must not publish, because a standby may already be
   * publishing the same rows, and two publishers interleave a key's events.
   */
  async assertHeld(): Promise<void> {
    const conn = this.conn;
    if (!conn || this.lost)
      throw new LockUnavailableError(this.resolvedName ?? this.baseName, 'not held');
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>({
        sql: 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine',
        timeout: 5000,
        values: [this.resolvedName],
      });
      if (Number(rows[0]?.mine) === 1) return;
    } catch (err) {
      this.lost = true;
      throw new LockUnavailableError(
        this.resolvedName ?? this.baseName,
        'lock session failed',
        err,
      );
    }
    this.lost = true;
    throw new LockUnavailableError(this.resolvedName ?? this.baseName, 'lock is no longer ours');
  }

  /** Releases the lock (if still ours) and closes the session; safe to call twice. */
  async release(): Promise<void> {
    const conn = this.conn;
    if (conn && !this.lost && this.resolvedName) {
      await conn.query('SELECT RELEASE_LOCK(?)', [this.resolvedName]).catch(() => undefined);
    }
    await this.close();
  }

  private async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.lost = false;
    if (conn) await conn.end().catch(() => conn.destroy());
  }

  /** The knex pool's own connection settings, so the lock session talks to the same database. */
  private async connectionConfig(): Promise<mysql.ConnectionOptions> {
    const raw = (this.db.client as { config: Knex.Config }).config.connection;
    const cfg = typeof raw === 'function' ? await raw() : raw;
    if (!cfg || typeof cfg === 'string') {
      throw new LockUnavailableError(
        this.baseName,
        'knex connection must be an object to open a lock session',
      );
    }
    return { ...(cfg as mysql.ConnectionOptions), enableKeepAlive: true };
  }
}

/** MySQL caps lock names at 64 characters; long database names are hashed to fit. */
export function lockName(base: string, database: string): string {
  const full = `${base}:${database}`;
  if (full.length <= 64) return full;
  const hash = crypto.createHash('sha256').update(database).digest('hex').slice(0, 16);
  return `${base.slice(0, 64 - 17)}:${hash}`;
}
