import type Redis from 'ioredis';

/**
 * The delay queue of payouts waiting for a final state: a Redis ZSET of payout ids (decimal
 * strings, lesson 8) scored by when to check next (epoch ms), and a hash of attempts per id.
 *
 * Redis is not the system of record: every entry is derived from a SUBMITTED payout, and the
 * sweeper (queue-sweeper.ts) rebuilds the ZSET from the database, so a FLUSHALL costs time, not
 * payouts. The marker key tells the sweeper that the queue it built is still there.
 *
 * Keys (one `{namespace}` hash tag, so the scripts' keys share a cluster slot):
 *   <ns>q           ZSET  payout id -> next check time
 *   <ns>q:attempts  HASH  payout id -> unknown outcomes so far
 *   <ns>q:swept     STRING present while the queue holds what the last sweep put in it
 */

/*
 * take: hands out due entries and hides them for a lease, so two workers never take one entry
 * and an entry whose worker died comes back once the lease ends.
 * Input:  KEYS[1] the ZSET; ARGV[1] now (ms); ARGV[2] max entries; ARGV[3] lease end (ms).
 * Output: the ids taken (possibly none). No failure codes.
 */
const TAKE_LUA = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return due
`;

interface QueueCommands {
  stsPayQueueTake(zset: string, now: number, limit: number, leaseEnd: number): Promise<string[]>;
}

export class DelayQueue {
  readonly zsetKey: string;
  readonly attemptsKey: string;
  readonly markerKey: string;
  private readonly redis: Redis & QueueCommands;

  constructor(redis: Redis, namespace: string) {
    this.zsetKey = `${namespace}q`;
    this.attemptsKey = `${namespace}q:attempts`;
    this.markerKey = `${namespace}q:swept`;
    const r = redis as Redis & Partial<QueueCommands>;
    // defineCommand caches the script by SHA and falls back to EVAL after SCRIPT FLUSH / FLUSHALL.
    if (!r.stsPayQueueTake)
      redis.defineCommand('stsPayQueueTake', { numberOfKeys: 1, lua: TAKE_LUA });
    this.redis = redis as Redis & QueueCommands;
  }

  /** Sets when `id` is checked next (adds it if absent). */
  async schedule(id: bigint, dueAtMs: number): Promise<void> {
    await this.redis.zadd(this.zsetKey, Math.round(dueAtMs), id.toString());
  }

  /** Adds entries that are absent; present ones keep their schedule (a sweep must not undo back-off). */
  async addMissing(entries: Array<{ id: bigint; dueAtMs: number }>): Promise<number> {
    if (entries.length === 0) return 0;
    const args = entries.flatMap((e) => [String(Math.round(e.dueAtMs)), e.id.toString()]);
    return Number(await this.redis.zadd(this.zsetKey, 'NX', ...args));
  }

  /** Counts one more unknown outcome for `id` and returns the total. */
  async countAttempt(id: bigint): Promise<number> {
    return this.redis.hincrby(this.attemptsKey, id.toString(), 1);
  }

  async attempts(id: bigint): Promise<number> {
    return Number((await this.redis.hget(this.attemptsKey, id.toString())) ?? 0);
  }

  /** Due entries, each hidden from other takers until `leaseEndMs`. */
  async take(nowMs: number, limit: number, leaseEndMs: number): Promise<bigint[]> {
    const ids = await this.redis.stsPayQueueTake(
      this.zsetKey,
      Math.round(nowMs),
      limit,
      Math.round(leaseEndMs),
    );
    return ids.map((s) => BigInt(s));
  }

  /** Forgets entries; called only once their final state and outbox row have committed. */
  async remove(ids: bigint[]): Promise<void> {
    if (ids.length === 0) return;
    const members = ids.map((id) => id.toString());
    await this.redis
      .multi()
      .zrem(this.zsetKey, ...members)
      .hdel(this.attemptsKey, ...members)
      .exec();
  }

  async size(): Promise<number> {
    return this.redis.zcard(this.zsetKey);
  }

  /** Epoch ms of the earliest entry, or undefined when empty. */
  async nextDueAt(): Promise<number | undefined> {
    const first = await this.redis.zrange(this.zsetKey, '0', '0', 'WITHSCORES');
    return first.length === 2 ? Number(first[1]) : undefined;
  }

  async setMarker(): Promise<void> {
    await this.redis.set(this.markerKey, String(Date.now()));
  }

  async hasMarker(): Promise<boolean> {
    return (await this.redis.exists(this.markerKey)) === 1;
  }
}
