import Redis from 'ioredis';
import { IdempotencyStore } from '../../../runtime/idempotency/idempotency-store';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
const TTL = 60_000;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('IdempotencyStore', () => {
  const redis = r.redis();
  const store = new IdempotencyStore(redis, { prefix: `${r.unique('idem')}:` });
  // 18-digit payout id: keys are decimal strings, never a JS number (docs/DESIGN.md, lesson 8).
  const key = (name: string) => `payout:652024209997893632:${r.unique(name)}`;

  it('makes a second claim of the same key see in-progress', async () => {
    const k = key('twice');
    const first = await store.claim(k, TTL);
    expect(first.status).toBe('claimed');
    expect(await store.claim(k, TTL)).toEqual({ status: 'in-progress' });
  });

  it('returns the stored result to a claim after the owner completes', async () => {
    const k = key('done');
    const first = await store.claim(k, TTL);
    if (first.status !== 'claimed') throw new Error('expected a claim');
    const result = JSON.stringify({ gatewayRef: 'gw-1', amountMinor: '9223372036854775807' });
    expect(await store.complete(k, first.token, result, TTL)).toBe('stored');
    expect(await store.claim(k, TTL)).toEqual({ status: 'completed', source: 'redis', result });
  });

  it('ignores complete and release from a token that does not own the claim', async () => {
    const k = key('owner');
    const first = await store.claim(k, TTL);
    if (first.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.release(k, 'not-the-owner')).toBe(false);
    expect(await store.complete(k, 'not-the-owner', 'x', TTL)).toBe('not-owner');
    expect(await store.claim(k, TTL)).toEqual({ status: 'in-progress' });
    expect(await store.release(k, first.token)).toBe(true);
    expect((await store.claim(k, TTL)).status).toBe('claimed');
  });

  it('keeps the first result when a second complete arrives', async () => {
    const k = key('again');
    const first = await store.claim(k, TTL);
    if (first.status !== 'claimed') throw new Error('expected a claim');
    await store.complete(k, first.token, 'first', TTL);
    expect(await store.complete(k, first.token, 'second', TTL)).toBe('already-completed');
    expect(await store.release(k, first.token)).toBe(false);
    expect(await store.claim(k, TTL)).toMatchObject({ status: 'completed', result: 'first' });
  });

  it('lets another caller claim once the claim TTL expires', async () => {
    const k = key('ttl');
    const first = await store.claim(k, 150);
    if (first.status !== 'claimed') throw new Error('expected a claim');
    expect((await store.claim(k, TTL)).status).toBe('in-progress');
    await sleep(300);
    const second = await store.claim(k, TTL);
    expect(second.status).toBe('claimed');
    // The slow first owner finishing late must not overwrite the new owner's claim.
    expect(await store.complete(k, first.token, 'late', TTL)).toBe('not-owner');
  });

  it('records a completion even when the claim vanished, because the effect did happen', async () => {
    const k = key('lost');
    const first = await store.claim(k, 100);
    if (first.status !== 'claimed') throw new Error('expected a claim');
    await sleep(250);
    expect(await store.complete(k, first.token, 'paid', TTL)).toBe('stored-after-loss');
    expect(await store.claim(k, TTL)).toMatchObject({ status: 'completed', result: 'paid' });
  });

  it('releases the claim when the fallback throws, so nobody waits for the TTL', async () => {
    const k = key('boom');
    await expect(store.claim(k, TTL, () => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
    expect((await store.claim(k, TTL)).status).toBe('claimed');
  });
});

describe('IdempotencyStore after Redis loses everything', () => {
  // FLUSHDB, not FLUSHALL: the local Redis is shared with other tests and people, so this test
  // owns logical database 13 and flushes only that one. The lesson is the same: keys are gone.
  const DEDICATED_DB = 13;
  const redis = new Redis(r.config.redisUrl, { db: DEDICATED_DB, maxRetriesPerRequest: 2 });
  r.defer(() => redis.quit());
  const store = new IdempotencyStore(redis, { prefix: `${r.unique('idem-flush')}:` });

  it('lets the database fallback decide once the completed key is flushed', async () => {
    const paid = 'payout:652024209997893632';
    const pending = 'payout:652024209997893633';
    for (const k of [paid, pending]) {
      const c = await store.claim(k, TTL);
      if (c.status !== 'claimed') throw new Error('expected a claim');
      if (k === paid) await store.complete(k, c.token, 'gw-1', TTL);
    }
    const neverAsked = async (): Promise<'unknown'> => {
      throw new Error('the fallback must not run while Redis still has the key');
    };
    expect(await store.claim(paid, TTL, neverAsked)).toMatchObject({
      source: 'redis',
      result: 'gw-1',
    });
    await redis.flushdb();

    // The system of record: the paid payout is final in the database, the other never went out.
    const asked: string[] = [];
    const database = (k: string) => async () => {
      asked.push(k);
      return k === paid ? ('completed' as const) : ('unknown' as const);
    };
    expect(await store.claim(paid, TTL, database(paid))).toEqual({
      status: 'completed',
      source: 'database',
      result: null,
    });
    expect((await store.claim(pending, TTL, database(pending))).status).toBe('claimed');
    expect(asked).toEqual([paid, pending]);
  });

  it('makes concurrent callers wait while one caller consults the fallback', async () => {
    const k = 'payout:652024209997893634';
    let releaseFallback: () => void = () => undefined;
    const gate = new Promise<void>((res) => (releaseFallback = res));
    const slow = store.claim(k, TTL, async () => {
      await gate;
      return 'unknown';
    });
    await sleep(50);
    expect(await store.claim(k, TTL, async () => 'unknown')).toEqual({ status: 'in-progress' });
    releaseFallback();
    expect((await slow).status).toBe('claimed');
  });
});
