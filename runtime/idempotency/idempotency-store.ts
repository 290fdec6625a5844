import crypto from 'node:crypto';
import type Redis from 'ioredis';
import { UnexpectedStateError } from '../errors';

/**
 * Redis idempotency keys for EXTERNAL effects (a gateway call, say): the first worker to claim a
 * key makes the call; everyone else sees `in-progress` or the stored result
 * (docs/DESIGN.md, "Guarantees").
 *
 * Redis is NEVER the system of record. A key can vanish at any moment (TTL, eviction, FLUSHALL),
 * so an absent key means "Redis does not know", never "not done yet". That is why `claim` takes a
 * `fallback` that asks the database: it runs only when the key was absent, while this caller
 * already holds the claim, so concurrent callers see `in-progress` instead of asking the database
 * (and the gateway) at the same time. The effect itself is still sent with the gateway's
 * Idempotency-Key header and tracked in the database, so even a lost claim cannot pay twice.
 *
 * Values: `P:<token>` while a claim is in progress, `C:<result>` once completed. Results are
 * strings; encode bigint as decimal strings (docs/DESIGN.md, lesson 8), never through a JS number.
 */

export type ClaimOutcome =
  /** This caller owns the key: do the effect, then `complete` or `release` with `token`. */
  | { status: 'claimed'; token: string }
  /** Another caller holds the claim; retry later (its TTL bounds how long). */
  | { status: 'in-progress' }
  /**
   * Already done. `source: 'redis'` carries the stored result; `source: 'database'` means Redis had
   * lost the key and the fallback found the effect in the database, so read the result from there.
   */
  | { status: 'completed'; source: 'redis'; result: string }
  | { status: 'completed'; source: 'database'; result: null };

/** Asks the system of record whether the effect behind a key already happened. */
export type ClaimFallback = () => Promise<'completed' | 'unknown'>;

export type CompleteOutcome =
  /** The caller's claim became the completed result. */
  | 'stored'
  /** The claim had vanished (expired or flushed); the result was stored anyway: the effect happened. */
  | 'stored-after-loss'
  /** Another token holds the claim now; nothing was written. */
  | 'not-owner'
  /** Someone already completed the key; the earlier result stays. */
  | 'already-completed';

export interface IdempotencyStoreOptions {
  /** Prepended to every key, so tests and tenants cannot collide. Default `sts:idem:`. */
  prefix?: string;
}

const PENDING = 'P:';
const DONE = 'C:';

/*
 * complete: turns the caller's pending claim into a completed result.
 * Input:  KEYS[1] the idempotency key; ARGV[1] owner token; ARGV[2] result; ARGV[3] TTL in ms.
 * Output: 1 stored; 2 stored although the key was missing (claim expired or Redis flushed: the
 *         effect did happen, so recording it is still true).
 * Failure codes (nothing written): -1 another token holds the claim; -2 already completed.
 */
const COMPLETE_LUA = `
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], '${DONE}' .. ARGV[2], 'PX', ARGV[3])
  return 2
end
if current == '${PENDING}' .. ARGV[1] then
  redis.call('SET', KEYS[1], '${DONE}' .. ARGV[2], 'PX', ARGV[3])
  return 1
end
if string.sub(current, 1, 2) == '${DONE}' then return -2 end
return -1
`;

/*
 * release: gives up the caller's pending claim so another caller can retry the effect at once.
 * Input:  KEYS[1] the idempotency key; ARGV[1] owner token.
 * Output: 1 released.
 * Failure codes (nothing deleted): 0 the key is missing, completed, or held by another token.
 * A plain DEL would let a slow worker whose claim expired delete the NEW owner's claim.
 */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == '${PENDING}' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

interface IdempotencyCommands {
  stsIdemComplete(key: string, token: string, result: string, ttlMs: number): Promise<number>;
  stsIdemRelease(key: string, token: string): Promise<number>;
}

const COMPLETE_CODES: Record<number, CompleteOutcome> = {
  1: 'stored',
  2: 'stored-after-loss',
  [-1]: 'not-owner',
  [-2]: 'already-completed',
};

export class IdempotencyStore {
  private readonly redis: Redis & IdempotencyCommands;
  private readonly prefix: string;

  constructor(redis: Redis, opts: IdempotencyStoreOptions = {}) {
    this.prefix = opts.prefix ?? 'sts:idem:';
    // defineCommand caches the script by SHA and falls back to EVAL after a SCRIPT FLUSH.
    const r = redis as Redis & Partial<IdempotencyCommands>;
    if (!r.stsIdemComplete)
      redis.defineCommand('stsIdemComplete', { numberOfKeys: 1, lua: COMPLETE_LUA });
    if (!r.stsIdemRelease)
      redis.defineCommand('stsIdemRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.redis = redis as Redis & IdempotencyCommands;
  }

  /**
   * Claims `key` for `ttlMs` (SET NX PX, atomic with reading what was there). The TTL must outlast
   * the effect plus its retries; when it lapses another caller may claim, which the gateway's
   * Idempotency-Key and the database state machine make harmless.
   */
  async claim(key: string, ttlMs: number, fallback?: ClaimFallback): Promise<ClaimOutcome> {
    const token = crypto.randomUUID();
    const full = this.prefix + key;
    // SET ... NX GET (Redis 7): sets only when absent and returns the previous value in one step,
    // so no expiry can slip in between "it exists" and "what is it".
    const previous = (await this.redis.call(
      'SET',
      full,
      PENDING + token,
      'PX',
      String(ttlMs),
      'NX',
      'GET',
    )) as string | null;
    if (previous !== null) {
      if (previous.startsWith(DONE))
        return { status: 'completed', source: 'redis', result: previous.slice(DONE.length) };
      return { status: 'in-progress' };
    }
    if (!fallback) return { status: 'claimed', token };
    let verdict: 'completed' | 'unknown';
    try {
      verdict = await fallback();
    } catch (err) {
      // Do not leave a claim behind that blocks every other caller until the TTL lapses.
      await this.release(key, token);
      throw err;
    }
    if (verdict === 'unknown') return { status: 'claimed', token };
    // The database has it, but not the result in the shape a caller stored here; let the next
    // caller ask the database again rather than cache a made-up result.
    await this.release(key, token);
    return { status: 'completed', source: 'database', result: null };
  }

  /** Records the effect's result under `key`, if `token` still owns the claim (see COMPLETE_LUA). */
  async complete(
    key: string,
    token: string,
    result: string,
    ttlMs: number,
  ): Promise<CompleteOutcome> {
    const code = await this.redis.stsIdemComplete(this.prefix + key, token, result, ttlMs);
    const outcome = COMPLETE_CODES[code];
    if (!outcome)
      throw new UnexpectedStateError(`idempotency complete script returned unknown code ${code}`);
    return outcome;
  }

  /** Gives up a pending claim (the effect failed before it was sent). No-op unless `token` owns it. */
  async release(key: string, token: string): Promise<boolean> {
    return (await this.redis.stsIdemRelease(this.prefix + key, token)) === 1;
  }
}
