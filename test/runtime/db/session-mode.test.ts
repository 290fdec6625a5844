import { useTestResources } from '../../fixtures/resources';
import { createDb, SESSION_SQL_MODE } from '../../../runtime/db/knex';
import { isRetriable } from '../../../runtime/processor/retry-policy';
import { StsError } from '../../../runtime/errors';

/**
 * Every pooled connection runs in the session mode the escaping and the duplicate handling rely
 * on, whatever the server's global mode, and a server that will not take it stops the process at
 * its first query with a non-retriable error instead of a pool timeout that is retried forever.
 */
const r = useTestResources();

describe('database session', () => {
  test('every connection is strict, UTC and utf8mb4, with backslash escapes and backtick identifiers', async () => {
    const { db } = await r.database();
    // Several connections at once: each was pinned when it opened, not only the first.
    // Each transaction holds its connection until all three have read, so three are open at once.
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((resolve) => (release = resolve));
    const reads = await Promise.all(
      [1, 2, 3].map(() =>
        db.transaction(async (trx) => {
          const row = (await trx.raw('SELECT @@SESSION.sql_mode AS mode, @@SESSION.time_zone AS tz, @@SESSION.character_set_connection AS cs, CONNECTION_ID() AS conn'))[0][0];
          if (++arrived === 3) release();
          await all;
          return row;
        }),
      ),
    );
    expect(new Set(reads.map((x) => x.conn)).size).toBe(3);
    for (const row of reads) {
      expect(new Set(row.mode.split(','))).toEqual(new Set(SESSION_SQL_MODE));
      expect(row.tz).toBe('+00:00');
      expect(row.cs).toBe('utf8mb4');
    }
  });

  test('a mode the server cannot set fails the first query at once, STS_SQL_MODE_UNSUPPORTED, not retriable', async () => {
    const { url } = await r.database();
    const db = createDb(url, { pool: 2, sqlMode: [...SESSION_SQL_MODE, 'NO_SUCH_MODE'] });
    r.defer(() => db.destroy());
    const started = Date.now();
    const err = (await db.raw('SELECT 1').catch((e: unknown) => e)) as StsError;
    expect(err).toBeInstanceOf(StsError);
    expect(err.code).toBe('STS_SQL_MODE_UNSUPPORTED');
    expect(err.message).toContain('NO_SUCH_MODE');
    expect(err.fix).toBeTruthy();
    expect(err.retriable).toBe(false);
    expect(isRetriable(err)).toBe(false);
    // Far below acquireConnectionTimeout (30 s): the error is the create error, handed on at once.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test.each([['NO_BACKSLASH_ESCAPES'], ['ANSI_QUOTES']])('a session mode with %s is refused before it is sent', async (mode) => {
    const { url } = await r.database();
    const db = createDb(url, { pool: 1, sqlMode: [...SESSION_SQL_MODE, mode] });
    r.defer(() => db.destroy());
    await expect(db.raw('SELECT 1')).rejects.toMatchObject({ code: 'STS_SQL_MODE_UNSUPPORTED', retriable: false });
  });

  test('`sts up` migrations and `sts run` fail with that error on their first query, not a pool timeout', async () => {
    // The entry points share createDb (infra/stack.ts, services/run/app-context.ts): the first thing each
    // does is a query, here through the migrations' own first statement.
    const { url } = await r.database();
    const db = createDb(url, { pool: 2, sqlMode: ['STRICT_ALL_TABLES', 'NO_SUCH_MODE'] });
    r.defer(() => db.destroy());
    const { migrateLatest } = await import('../../../runtime/db/migrate');
    await expect(migrateLatest(db)).rejects.toMatchObject({ code: 'STS_SQL_MODE_UNSUPPORTED' });
  });
});

test('leases open no session of their own: their statements, the fence too, run in a pinned pooled session', async () => {
  const { Lease } = await import('../../../runtime/db/lease');
  const { url } = await r.database();
  // One pooled connection: whatever the lease ran, it ran there.
  const db = createDb(url, { pool: 1 });
  r.defer(() => db.destroy());
  const lease = new Lease(db, 'sts.sql-mode-test');
  r.defer(() => lease.release());
  expect(await lease.tryAcquire()).toBe(true);
  await lease.assertHeld();
  const row = await db.transaction(async (trx) => {
    await lease.fence(trx);
    return (await trx.raw('SELECT @@SESSION.sql_mode AS m, CONNECTION_ID() AS conn'))[0][0] as { m: string; conn: string };
  });
  expect(new Set(row.m.split(','))).toEqual(new Set(SESSION_SQL_MODE));
  const [[after]] = (await db.raw('SELECT CONNECTION_ID() AS conn')) as [[{ conn: string }]];
  expect(after.conn).toBe(row.conn);
});
