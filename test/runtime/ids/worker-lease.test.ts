import { performance } from 'node:perf_hooks';
import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import { decomposeId, SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease, type WorkerLeaseOptions } from '../../../runtime/ids/worker-lease';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();
let db: Knex;
const leases: WorkerLease[] = [];

beforeAll(async () => {
  ({ db } = await r.database());
});
afterEach(async () => {
  for (const lease of leases.splice(0)) await lease.release();
});

async function lease(options: WorkerLeaseOptions): Promise<WorkerLease> {
  const l = await WorkerLease.acquire(db, options);
  leases.push(l);
  return l;
}

/** Blocks the event loop, as a long GC pause or a CPU-bound batch would: no timer can fire. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof StsError ? `${err.code} retriable=${err.retriable}` : String(err);
  }
  return undefined;
}

function codeOf(fn: () => unknown): Promise<string | undefined> {
  return codeOfAsync(Promise.resolve().then(fn));
}

const SHORT: Partial<WorkerLeaseOptions> = {
  ttlMs: 600,
  safetyMarginMs: 100,
  renewIntervalMs: 200,
};

test('a generator whose lease expired stops minting, even when its renew timer was starved', async () => {
  const g = new SnowflakeGenerator(await lease({ datacenterId: 1, ...SHORT }));
  g.next();
  stall(700);
  expect(await codeOf(() => g.next())).toBe('STS_ID_LEASE_LOST retriable=false');
  // Lost is terminal: the clock catching up or a later renew does not bring it back.
  expect(await codeOf(() => g.next())).toBe('STS_ID_LEASE_LOST retriable=false');
});

test('a second instance takes over an expired slot; the first stops with STS_ID_LEASE_LOST and the second mints after its last id', async () => {
  const first = await lease({ datacenterId: 2, workerSlots: 1, ...SHORT });
  const a = new SnowflakeGenerator(first);
  const lastOfA = Array.from({ length: 100 }, () => a.next()).pop()!;
  stall(800); // past the lease in the database too, so the slot is free for a takeover

  const second = await lease({ datacenterId: 2, workerSlots: 1, ...SHORT });
  expect([second.datacenterId, second.workerId]).toEqual([first.datacenterId, first.workerId]);
  expect(second.fence).toBe(first.fence + 1n);
  const b = new SnowflakeGenerator(second);
  const firstOfB = b.next();

  expect(await codeOf(() => a.next())).toBe('STS_ID_LEASE_LOST retriable=false');
  expect(firstOfB).toBeGreaterThan(lastOfA);
  expect(decomposeId(firstOfB).timestamp).toBeGreaterThan(decomposeId(lastOfA).timestamp);
});

test('a holder whose row changed owner or fence under it stops minting at its next renewal', async () => {
  const l = await lease({ datacenterId: 3 });
  const g = new SnowflakeGenerator(l);
  g.next();
  const lost: string[] = [];
  l.onLost((err) => lost.push(err.code));
  await db('id_worker_lease')
    .where({ datacenter_id: 3, worker_id: l.workerId })
    .update({ owner: 'intruder', fence: db.raw('fence + 1') });
  await l.renew();
  expect(lost).toEqual(['STS_ID_LEASE_LOST']);
  expect(l.held).toBe(false);
  expect(await codeOf(() => g.next())).toBe('STS_ID_LEASE_LOST retriable=false');
});

test('renewal keeps a lease alive past its ttl', async () => {
  const l = await lease({ datacenterId: 4, ...SHORT });
  const g = new SnowflakeGenerator(l);
  for (let i = 0; i < 8; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    g.next();
  }
  expect(l.held).toBe(true);
});

test('fails with STS_ID_LEASES_EXHAUSTED when every worker slot in a datacenter is taken', async () => {
  const held = [
    await lease({ datacenterId: 5, workerSlots: 2 }),
    await lease({ datacenterId: 5, workerSlots: 2 }),
  ];
  expect(new Set(held.map((l) => l.workerId))).toEqual(new Set([0, 1]));
  const err = await WorkerLease.acquire(db, { datacenterId: 5, workerSlots: 2 }).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StsError);
  expect((err as StsError).code).toBe('STS_ID_LEASES_EXHAUSTED');
  expect((err as StsError).message).toMatch(/all 2 worker ids of datacenter 5 are leased/);
  // Another datacenter has its own worker ids.
  expect((await lease({ datacenterId: 6, workerSlots: 2 })).workerId).toBe(0);
});

test('a released slot is reusable at once and its next holder stamps after the last id', async () => {
  const first = await WorkerLease.acquire(db, { datacenterId: 0, workerSlots: 1 });
  const a = new SnowflakeGenerator(first);
  const lastOfA = Array.from({ length: 10 }, () => a.next()).pop()!;
  await first.release();
  expect(await codeOf(() => a.next())).toBe('STS_ID_LEASE_LOST retriable=false');

  const second = await lease({ datacenterId: 0, workerSlots: 1 });
  expect(second.workerId).toBe(first.workerId);
  expect(second.fence).toBe(first.fence + 1n);
  expect(new SnowflakeGenerator(second).next()).toBeGreaterThan(lastOfA);
});

test('rejects options that would let the lease end between renewals, saying how to fix them', async () => {
  const err = await WorkerLease.acquire(db, {
    datacenterId: 0,
    ttlMs: 1000,
    safetyMarginMs: 500,
    renewIntervalMs: 600,
  }).catch((e: unknown) => e);
  expect((err as StsError).code).toBe('STS_CONFIG_INVALID');
  expect((err as StsError).message).toMatch(
    /renewIntervalMs must be lower than ttlMs - safetyMarginMs/,
  );
  const dc = await WorkerLease.acquire(db, { datacenterId: 8 }).catch((e: unknown) => e);
  expect((dc as StsError).message).toMatch(/datacenterId/);
});
