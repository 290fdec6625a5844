/**
 * A lease on one (datacenter_id, worker_id) row of `id_worker_lease`, so that no two live id
 * generators anywhere share worker bits (docs/DESIGN.md, lesson 1: two datacenters that derived
 * worker ids from pod indexes minted identical ids). The pod index, hostname or any other instance
 * identity is only ever the `owner` label, never the worker id.
 *
 * SQL (portable MySQL, all times from the database clock via NOW(3)):
 *   acquire  INSERT a never-used slot (fence 1; a duplicate primary key means taken), else
 *            UPDATE an expired slot WHERE fence = <seen> AND lease_until <= NOW(3) (fence + 1).
 *            Inputs: datacenter, owner, ttl. Success iff affectedRows = 1, so two instances
 *            racing for one slot cannot both win. Fails: STS_ID_LEASES_EXHAUSTED (retriable).
 *   renew    UPDATE ... WHERE owner = <token> AND fence = <ours> AND lease_until > NOW(3).
 *            affectedRows 0 means expired or taken over: STS_ID_LEASE_LOST (never retriable).
 *   release  the same guard; sets lease_until to the last stamped ms, freeing the slot at once.
 *
 * Why the lease also bounds TIMESTAMPS: lease_until is written as at least this host's wall clock
 * + ttl (the "ceiling"), the generator refuses to stamp past its ceiling, and the next holder
 * stamps only after the old lease_until (its "floor"). Holder windows never overlap, so a takeover
 * by a host whose clock runs behind ours cannot repeat our ids.
 *
 * Validity is checked on every mint against a LOCAL monotonic deadline (sent-at + ttl - margin),
 * so a starved renew timer cannot let a stale generator keep minting. A renewal that errors (the
 * database briefly unreachable) is retried on the next tick; the deadline still bounds minting.
 *
 * FROM_UNIXTIME/UNIX_TIMESTAMP use the session time zone; run MySQL in UTC (the local stack does)
 * or the hour a DST change repeats may shift the floor.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { isDuplicateKey } from '../db/duplicate-key';
import type { Knex } from '../db/knex';
import { ConfigError } from '../errors';
import { ClockBackwardsError, IdLeaseLostError, IdLeasesExhaustedError } from './id-errors';
import {
  MAX_DATACENTER_ID,
  MAX_WORKER_ID,
  systemClock,
  type Clock,
  type IdLease,
} from './snowflake';

export const WORKER_LEASE_DEFAULTS = {
  /** How long a lease lives without renewal, ms. A crashed holder's slot is free after this. 30 s. */
  ttlMs: 30_000,
  /** Renewal period, ms; 0 means ttlMs / 3, so two renewals can fail before the lease ends. */
  renewIntervalMs: 0,
  /** Minting stops this long (ms) before the lease ends by the local clock, to absorb clock-rate
   * drift between this host and the database and the renewal round trip. 2 s. */
  safetyMarginMs: 2_000,
  /** Worker ids 0..workerSlots-1 may be leased. Lower it to reserve ids; max 128 (7 bits). */
  workerSlots: MAX_WORKER_ID + 1,
  /** On takeover, wait up to this long (ms) for our clock to pass the previous holder's last
   * timestamp; beyond it, fail with STS_CLOCK_BACKWARDS (our clock is badly behind). 2 s. */
  maxFloorWaitMs: 2_000,
  /** Label stored in `owner` for operators (a random suffix makes each lease's token unique). */
  owner: `${os.hostname()}:${process.pid}`,
} as const;

export const workerLeaseOptionsSchema = z
  .object({
    datacenterId: z.number().int().min(0).max(MAX_DATACENTER_ID),
    ttlMs: z.number().int().min(100).default(WORKER_LEASE_DEFAULTS.ttlMs),
    renewIntervalMs: z.number().int().min(0).default(WORKER_LEASE_DEFAULTS.renewIntervalMs),
    safetyMarginMs: z.number().int().min(0).default(WORKER_LEASE_DEFAULTS.safetyMarginMs),
    workerSlots: z
      .number()
      .int()
      .min(1)
      .max(MAX_WORKER_ID + 1)
      .default(WORKER_LEASE_DEFAULTS.workerSlots),
    maxFloorWaitMs: z.number().int().min(0).default(WORKER_LEASE_DEFAULTS.maxFloorWaitMs),
    owner: z.string().min(1).max(100).default(WORKER_LEASE_DEFAULTS.owner),
  })
  .transform((o) => ({ ...o, renewIntervalMs: o.renewIntervalMs || Math.floor(o.ttlMs / 3) }))
  .refine((o) => o.safetyMarginMs < o.ttlMs, {
    message: 'safetyMarginMs must be lower than ttlMs, or the lease is expired as soon as taken',
  })
  .refine((o) => o.renewIntervalMs < o.ttlMs - o.safetyMarginMs, {
    message:
      'renewIntervalMs must be lower than ttlMs - safetyMarginMs, or minting stops between renewals',
  });

export type WorkerLeaseOptions = z.input<typeof workerLeaseOptionsSchema> & {
  /** Wall clock for the timestamp ceiling/floor; the generator's clock. Default Date.now. */
  clock?: Clock;
};
type Settings = z.output<typeof workerLeaseOptionsSchema>;

type State = { kind: 'held' } | { kind: 'lost'; reason: string } | { kind: 'released' };

export class WorkerLease implements IdLease {
  private state: State = { kind: 'held' };
  /** performance.now() after which minting stops. */
  private deadline: number;
  /** Latest Unix ms this lease may stamp (<= the lease_until the database holds). */
  private ceilingMs: number;
  private lastStampedMs: number;
  private timer?: NodeJS.Timeout;
  private renewing = false;
  private readonly lostListeners: Array<(err: IdLeaseLostError) => void> = [];

  readonly datacenterId: number;
  readonly workerId: number;
  /** Bumped on every new lease of the slot; store it beside writes that need fencing. */
  readonly fence: bigint;
  readonly floorMs: number;

  private constructor(
    private readonly db: Knex,
    private readonly settings: Settings,
    private readonly clock: Clock,
    private readonly token: string,
    slot: { workerId: number; fence: bigint; floorMs: number },
    sentAt: { mono: number; wall: number },
  ) {
    this.datacenterId = settings.datacenterId;
    ({ workerId: this.workerId, fence: this.fence, floorMs: this.floorMs } = slot);
    this.deadline = sentAt.mono + settings.ttlMs - settings.safetyMarginMs;
    this.ceilingMs = sentAt.wall + settings.ttlMs;
    this.lastStampedMs = slot.floorMs;
    this.timer = setInterval(() => void this.renew(), settings.renewIntervalMs);
    this.timer.unref(); // a lease must never keep a finished process alive
  }

  /** Leases a free or expired worker id in `options.datacenterId` and starts renewing it. */
  static async acquire(db: Knex, options: WorkerLeaseOptions): Promise<WorkerLease> {
    const { clock = systemClock, ...rest } = options;
    const parsed = workerLeaseOptionsSchema.safeParse(rest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(
        `worker lease: ${issue?.path.join('.') || 'options'}: ${issue?.message}`,
      );
    }
    const s = parsed.data;
    const token = `${s.owner}#${crypto.randomBytes(6).toString('hex')}`;
    const rows: Array<{ worker_id: number; fence: string; until_ms: string; expired: number }> = (
      await db.raw(
        `SELECT worker_id, fence, CAST(ROUND(UNIX_TIMESTAMP(lease_until) * 1000) AS SIGNED) AS until_ms,
                lease_until <= NOW(3) AS expired
           FROM id_worker_lease WHERE datacenter_id = ? AND worker_id < ? ORDER BY worker_id`,
        [s.datacenterId, s.workerSlots],
      )
    )[0];
    const used = new Set(rows.map((r) => Number(r.worker_id)));
    const untilSql = 'GREATEST(NOW(3) + INTERVAL ? MICROSECOND, FROM_UNIXTIME(? / 1000))';

    for (let workerId = 0; workerId < s.workerSlots; workerId++) {
      if (used.has(workerId)) continue;
      const sentAt = now(clock);
      // A plain INSERT: a slot another instance took meanwhile is ER_DUP_ENTRY on the primary key;
      // anything else (an owner label too long for its column) is an error, not a lost race.
      try {
        await db.raw(
          `INSERT INTO id_worker_lease (datacenter_id, worker_id, owner, lease_until, fence)
           VALUES (?, ?, ?, ${untilSql}, 1)`,
          [s.datacenterId, workerId, token, s.ttlMs * 1000, sentAt.wall + s.ttlMs],
        );
        return new WorkerLease(db, s, clock, token, { workerId, fence: 1n, floorMs: 0 }, sentAt);
      } catch (err) {
        if (!isDuplicateKey(err, 'PRIMARY')) throw err;
      }
    }
    // Oldest expiry first: the slot whose previous holder is longest gone needs the least waiting.
    const expired = rows.filter((r) => Number(r.expired) === 1);
    expired.sort((a, b) => Number(BigInt(a.until_ms) - BigInt(b.until_ms)));
    for (const r of expired) {
      const sentAt = now(clock);
      // `fence = seen` pins the row we read: an expired row changes only by takeover, which
      // bumps the fence, so the until_ms we use as our floor is exactly the one we replace.
      const [res] = await db.raw(
        `UPDATE id_worker_lease SET owner = ?, fence = fence + 1, lease_until = ${untilSql}
          WHERE datacenter_id = ? AND worker_id = ? AND fence = ? AND lease_until <= NOW(3)`,
        [token, s.ttlMs * 1000, sentAt.wall + s.ttlMs, s.datacenterId, r.worker_id, r.fence],
      );
      if (res.affectedRows !== 1) continue;
      const slot = {
        workerId: Number(r.worker_id),
        fence: BigInt(r.fence) + 1n,
        floorMs: Number(r.until_ms),
      };
      const lease = new WorkerLease(db, s, clock, token, slot, sentAt);
      await lease.waitForFloor();
      return lease;
    }
    throw new IdLeasesExhaustedError(s.datacenterId, s.workerSlots);
  }

  /** See IdLease. Records the stamp, so release() can hand the next holder an exact floor. */
  assertValid(timestampMs: number): void {
    if (this.state.kind !== 'held') throw this.lostError();
    if (performance.now() >= this.deadline) {
      this.markLost('lease expired before it was renewed (renewal failing or event loop stalled)');
      throw this.lostError();
    }
    if (timestampMs > this.ceilingMs) {
      // The wall clock jumped ahead of what the database row covers; the next holder's floor
      // would not protect these ids, so stop rather than stamp them.
      this.markLost(`clock jumped past the lease ceiling ${this.ceilingMs}`);
      throw this.lostError();
    }
    if (timestampMs > this.lastStampedMs) this.lastStampedMs = timestampMs;
  }

  get held(): boolean {
    return this.state.kind === 'held' && performance.now() < this.deadline;
  }

  /** Called once, when the lease is lost (not when released). */
  onLost(listener: (err: IdLeaseLostError) => void): void {
    this.lostListeners.push(listener);
  }

  /** Extends the lease. Public so callers (and tests) can renew on demand; the timer calls it. */
  async renew(): Promise<void> {
    if (this.state.kind !== 'held' || this.renewing) return;
    if (performance.now() >= this.deadline) {
      this.markLost('lease expired before it was renewed (renewal failing or event loop stalled)');
      return;
    }
    this.renewing = true;
    const sentAt = now(this.clock);
    try {
      const [res] = await this.db.raw(
        `UPDATE id_worker_lease
            SET lease_until = GREATEST(NOW(3) + INTERVAL ? MICROSECOND, FROM_UNIXTIME(? / 1000))
          WHERE datacenter_id = ? AND worker_id = ? AND owner = ? AND fence = ? AND lease_until > NOW(3)`,
        [this.settings.ttlMs * 1000, sentAt.wall + this.settings.ttlMs, ...this.key()],
      );
      if (this.state.kind !== 'held') return;
      if (res.affectedRows !== 1) {
        this.markLost('the lease row expired or was taken over (owner/fence changed)');
        return;
      }
      this.deadline = sentAt.mono + this.settings.ttlMs - this.settings.safetyMarginMs;
      this.ceilingMs = sentAt.wall + this.settings.ttlMs;
    } catch {
      // Transient (database unreachable): the next tick retries; the deadline bounds minting.
    } finally {
      this.renewing = false;
    }
  }

  /** Stops minting and frees the slot for the next holder. Idempotent. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.state.kind !== 'held') return;
    this.state = { kind: 'released' };
    // lease_until = our last stamp (or now): the slot is free at once, and its next holder
    // starts stamping after our last id.
    await this.db.raw(
      `UPDATE id_worker_lease SET lease_until = GREATEST(NOW(3), FROM_UNIXTIME(? / 1000))
        WHERE datacenter_id = ? AND worker_id = ? AND owner = ? AND fence = ? AND lease_until > NOW(3)`,
      [this.lastStampedMs, ...this.key()],
    );
  }

  private key(): [number, number, string, string] {
    return [this.datacenterId, this.workerId, this.token, this.fence.toString()];
  }

  /** A takeover may find the previous holder's stamps a little ahead of our clock: wait it out. */
  private async waitForFloor(): Promise<void> {
    const started = performance.now();
    for (;;) {
      const behind = this.floorMs - this.clock.now();
      if (behind < 0) return;
      if (performance.now() - started > this.settings.maxFloorWaitMs) {
        await this.release();
        throw new ClockBackwardsError(
          `clock is ${behind} ms behind the previous holder of worker ${this.workerId}`,
          { behindMs: behind, datacenterId: this.datacenterId, workerId: this.workerId },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(behind + 1, 50)));
    }
  }

  private markLost(reason: string): void {
    if (this.state.kind !== 'held') return;
    this.state = { kind: 'lost', reason };
    clearInterval(this.timer);
    const err = this.lostError();
    for (const listener of this.lostListeners) listener(err);
  }

  private lostError(): IdLeaseLostError {
    const reason = this.state.kind === 'lost' ? this.state.reason : 'the lease was released';
    return new IdLeaseLostError(reason, {
      datacenterId: this.datacenterId,
      workerId: this.workerId,
      fence: this.fence.toString(),
    });
  }
}

function now(clock: Clock): { mono: number; wall: number } {
  // Read before the query is sent, so both the deadline and the ceiling err on the early side.
  return { mono: performance.now(), wall: clock.now() };
}
