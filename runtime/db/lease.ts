/**
 * A lease on one row of `role_lease`: whoever holds it is the one instance allowed to act in an
 * exclusive role (the outbox relay, a region's close, reconciliation, the bank sender, the
 * periodic roles of single-active.ts). Why a row and not a MySQL named lock: a named lock lives on
 * one server; a multi-primary Galera cluster does not replicate it and distributed
 * MySQL-compatible engines restrict or lack it, so two instances on two nodes would each hold
 * "the" lock. The price: a holder that crashes keeps the role until its lease expires (one TTL);
 * a holder that stops cleanly releases it, and the role is free at once.
 *
 * SQL (portable MySQL; every time comparison uses the database clock, NOW(3), never this
 * process's):
 *   tryAcquire  UPDATE the row WHERE expires_at <= NOW(3), bumping `token`; else INSERT it with
 *               token 1 (a duplicate primary key means someone holds it). One transaction, so the
 *               token read back is ours. Two contenders cannot both win: on one server the second
 *               UPDATE waits for the first and then finds the row unexpired; on Galera the two
 *               writes conflict in certification and one commit fails (read as "not acquired").
 *   renew       UPDATE expires_at WHERE holder and token still match AND expires_at > NOW(3).
 *               A keep-alive timer runs it every renewIntervalMs while held, so long work (a
 *               close waiting for its watermark) keeps the role. Zero rows: the lease is lost
 *               (expired or taken over), `onLost` is called and the holder stops before its next
 *               batch. An error (the database unreachable) is retried at the next tick, until a
 *               TTL has passed since the last renewal; then the lease is lost too.
 *   assertHeld  renew, now, and throw STS_LOCK_UNAVAILABLE unless it succeeded: checked with the
 *               database, not trusted from memory.
 *   release     sets expires_at = NOW(3) under the same guard: the role is free at once.
 *   fence(trx)  inside the holder's own write transaction, UPDATE the row (fenced_writes + 1)
 *               WHERE name, token AND expires_at > NOW(3); anything but one row affected throws
 *               STS_LOCK_UNAVAILABLE, so the transaction rolls back. Call it last, just before the
 *               commit, so the lease row is locked only while the transaction commits.
 *
 * Why fence and not just assertHeld: a holder can be frozen (GC pause, SIGSTOP, a slow disk)
 * between checking its lease and committing, while a standby takes the role over. The fence makes
 * the check part of the write. Because it writes the lease row, on one server it also holds that
 * row's lock until commit: a takeover (which updates the same row) waits for the holder's write
 * to finish, and finds it done; a holder that fences after a takeover finds another token and
 * rolls back. On Galera the holder's fence and the takeover are two writes to one row from two
 * nodes: certification lets one commit and aborts the other (ER_LOCK_DEADLOCK at commit), so the
 * holder's stale transaction cannot commit. On a cluster, `expires_at > NOW(3)` reads each node's
 * own clock: keep the nodes' clocks in sync (NTP) to well under the TTL.
 *
 * Failure codes: STS_LOCK_UNAVAILABLE (not held, lost, or not confirmable), STS_CONFIG_INVALID
 * (bad options).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { LockUnavailableError } from './db-errors';
import { isDuplicateKey } from './duplicate-key';
import type { Knex } from './knex';

export const LEASE_DEFAULTS = {
  /**
   * How long a lease lives without renewal, ms: how long a crashed or frozen holder keeps its role
   * before a standby may take it. Longer rides out longer stalls of the holder or the database;
   * shorter hands over sooner. Default 10000.
   */
  ttlMs: 10_000,
  /** Keep-alive period while held, ms; 0 means ttlMs / 3, so two renewals can fail in a row. */
  renewIntervalMs: 0,
  /** Label stored in `holder` for operators; a random suffix makes each acquisition unique. */
  holder: `${os.hostname()}:${process.pid}`,
} as const;

const leaseOptionsSchema = z
  .object({
    ttlMs: z.number().int().min(100).default(LEASE_DEFAULTS.ttlMs),
    renewIntervalMs: z.number().int().min(0).default(LEASE_DEFAULTS.renewIntervalMs),
    holder: z.string().min(1).max(100).default(LEASE_DEFAULTS.holder),
  })
  .transform((o) => ({ ...o, renewIntervalMs: o.renewIntervalMs || Math.floor(o.ttlMs / 3) }))
  .refine((o) => o.renewIntervalMs < o.ttlMs, {
    message: 'renewIntervalMs must be lower than ttlMs, or the lease expires between renewals',
  });

export type LeaseOptions = z.input<typeof leaseOptionsSchema> & {
  /** Called once when a held lease is found lost (not when released). */
  onLost?: (err: LockUnavailableError) => void;
};

/** MySQL's deadlock error, which is also how Galera reports a transaction that lost certification. */
const ER_LOCK_DEADLOCK = 1213;

type State =
  | { kind: 'idle' }
  | { kind: 'held'; holder: string; token: bigint }
  | { kind: 'lost'; holder: string; token: bigint; reason: string };

export class Lease {
  private state: State = { kind: 'idle' };
  private readonly settings: z.output<typeof leaseOptionsSchema>;
  private readonly onLost: (err: LockUnavailableError) => void;
  /** performance.now() by which the database has let the lease expire unless it was renewed. */
  private deadline = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The keep-alive renewal in flight; the timer skips its tick rather than queue a second. */
  private keepAlive: Promise<unknown> | undefined;

  constructor(
    private readonly db: Knex,
    readonly name: string,
    options: LeaseOptions = {},
  ) {
    const { onLost, ...rest } = options;
    const parsed = leaseOptionsSchema.safeParse(rest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || 'options';
      throw new ConfigError(`lease ${name}: ${field}: ${issue?.message}`, `fix the lease option ${field}`);
    }
    if (name.length === 0 || name.length > 64)
      throw new ConfigError(`lease name ${JSON.stringify(name)} must have 1 to 64 characters`);
    this.settings = parsed.data;
    this.onLost = onLost ?? (() => undefined);
  }

  /** True while we believe we hold the lease; `assertHeld()` confirms it with the database. */
  get held(): boolean {
    return this.state.kind === 'held' && performance.now() < this.deadline;
  }

  /** The fencing token of our current (or last lost) acquisition; undefined before the first. */
  get token(): bigint | undefined {
    return this.state.kind === 'idle' ? undefined : this.state.token;
  }

  /** One attempt, never waiting: takes the lease if it is free or expired. Standbys call it on every poll. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    this.stopTimer();
    this.state = { kind: 'idle' };
    const holder = `${this.settings.holder}#${crypto.randomBytes(6).toString('hex')}`;
    const ttlUs = this.settings.ttlMs * 1000;
    const sentAt = performance.now();
    let token: bigint | undefined;
    try {
      token = await this.db.transaction(async (trx) => {
        const [taken] = (await trx.raw(
          `UPDATE role_lease
              SET holder = ?, token = token + 1, expires_at = NOW(3) + INTERVAL ? MICROSECOND,
                  acquired_at = NOW(3), renewed_at = NOW(3)
            WHERE name = ? AND expires_at <= NOW(3)`,
          [holder, ttlUs, this.name],
        )) as [{ affectedRows: number }];
        if (taken.affectedRows === 1) {
          const [rows] = (await trx.raw(
            'SELECT CAST(token AS CHAR) AS token FROM role_lease WHERE name = ?',
            [this.name],
          )) as [Array<{ token: string }>];
          return BigInt(rows[0]!.token);
        }
        try {
          await trx.raw(
            `INSERT INTO role_lease (name, holder, token, expires_at, acquired_at, renewed_at)
             VALUES (?, ?, 1, NOW(3) + INTERVAL ? MICROSECOND, NOW(3), NOW(3))`,
            [this.name, holder, ttlUs],
          );
          return 1n;
        } catch (err) {
          if (isDuplicateKey(err, 'PRIMARY')) return undefined; // held by someone, unexpired
          throw err;
        }
      });
    } catch (err) {
      // Another contender's takeover won the row (a deadlock here, a failed certification on
      // Galera): it holds the lease now, which is the answer, not an error.
      if ((err as { errno?: unknown }).errno === ER_LOCK_DEADLOCK) return false;
      throw err;
    }
    if (token === undefined) return false;
    this.state = { kind: 'held', holder, token };
    this.deadline = sentAt + this.settings.ttlMs;
    this.timer = setInterval(() => {
      // A renewal waits while one of our own fenced transactions holds the row until it commits.
      if (this.keepAlive) return;
      this.keepAlive = this.renew()
        .catch(() => undefined)
        .finally(() => (this.keepAlive = undefined));
    }, this.settings.renewIntervalMs);
    this.timer.unref(); // a lease must never keep a finished process alive
    return true;
  }

  /**
   * Extends the lease by a TTL from now (the database's now) if it is still ours. Returns false
   * (and calls onLost) when it is not; throws when the database cannot be asked.
   */
  async renew(): Promise<boolean> {
    const state = this.state;
    if (state.kind !== 'held') return false;
    const sentAt = performance.now();
    let affected: number;
    try {
      const [res] = (await this.db.raw(
        `UPDATE role_lease SET expires_at = NOW(3) + INTERVAL ? MICROSECOND, renewed_at = NOW(3)
          WHERE name = ? AND holder = ? AND token = ${state.token.toString()} AND expires_at > NOW(3)`,
        [this.settings.ttlMs * 1000, this.name, state.holder],
      )) as [{ affectedRows: number }];
      affected = res.affectedRows;
    } catch (err) {
      if (performance.now() >= this.deadline)
        this.markLost(state, 'not renewed within its TTL: the database could not be reached', err);
      throw err;
    }
    // Released or re-acquired while the statement ran: that outcome is not ours to report.
    if (this.state !== state) return false;
    if (affected !== 1) {
      this.markLost(state, 'the lease expired or was taken over by another instance');
      return false;
    }
    this.deadline = Math.max(this.deadline, sentAt + this.settings.ttlMs);
    return true;
  }

  /**
   * Renews the lease with the database and throws STS_LOCK_UNAVAILABLE unless it is still ours.
   * Holders call it before each batch: one that lost the role learns it before acting.
   */
  async assertHeld(): Promise<void> {
    const state = this.state;
    if (state.kind !== 'held') throw this.unavailable();
    let ok: boolean;
    try {
      ok = await this.renew();
    } catch (err) {
      throw new LockUnavailableError(this.name, 'the lease could not be confirmed with the database', err);
    }
    if (!ok) throw this.unavailable();
  }

  /**
   * The fence: call it inside the holder's write transaction, as its last statement before the
   * commit. Writes the lease row on condition that our token is still the row's and unexpired;
   * otherwise marks the lease lost and throws STS_LOCK_UNAVAILABLE, so the transaction rolls back
   * (knex rolls back a transaction whose callback throws). The condition is checked by the
   * database even when we already know the lease is lost, so the answer never rests on memory.
   */
  async fence(trx: Knex.Transaction): Promise<void> {
    const state = this.state;
    if (state.kind === 'idle') throw this.unavailable();
    const [res] = (await trx.raw(
      `UPDATE role_lease SET fenced_writes = fenced_writes + 1
        WHERE name = ? AND token = ${state.token.toString()} AND expires_at > NOW(3)`,
      [this.name],
    )) as [{ affectedRows: number }];
    if (res.affectedRows === 1) return;
    if (state.kind === 'held') this.markLost(state, 'the lease expired or was taken over by another instance');
    throw new LockUnavailableError(
      this.name,
      `lease token ${state.token} is no longer current: this transaction is rolled back`,
    );
  }

  /** Frees the lease at once if it is still ours; safe to call twice and after a loss. */
  async release(): Promise<void> {
    this.stopTimer();
    const state = this.state;
    this.state = { kind: 'idle' };
    if (state.kind !== 'held') return;
    // A release that fails (the database unreachable) leaves the row to expire on its own.
    await this.db
      .raw(
        `UPDATE role_lease SET expires_at = NOW(3)
          WHERE name = ? AND holder = ? AND token = ${state.token.toString()} AND expires_at > NOW(3)`,
        [this.name, state.holder],
      )
      .catch(() => undefined);
  }

  private markLost(state: Extract<State, { kind: 'held' }>, reason: string, cause?: unknown): void {
    if (this.state !== state) return;
    this.stopTimer();
    this.state = { kind: 'lost', holder: state.holder, token: state.token, reason };
    this.onLost(new LockUnavailableError(this.name, `lease lost: ${reason}`, cause));
  }

  private unavailable(): LockUnavailableError {
    return new LockUnavailableError(
      this.name,
      this.state.kind === 'lost' ? `lease lost: ${this.state.reason}` : 'the lease is not held',
    );
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
