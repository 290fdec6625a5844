import type { Knex } from '../../../runtime/db/knex';
import { StsError } from '../../../runtime/errors';
import {
  composeId,
  decomposeId,
  ID_EPOCH_MS,
  MAX_SEQUENCE,
  SnowflakeGenerator,
  type Clock,
} from '../../../runtime/ids/snowflake';
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

/** Replays `script`, then counts up 1 ms per read: lets a test step the clock back or freeze it. */
function scriptedClock(script: number[]): Clock & { reads: number } {
  const clock = {
    reads: 0,
    now() {
      const i = clock.reads++;
      return i < script.length ? script[i]! : script[script.length - 1]! + (i - script.length + 1);
    },
  };
  return clock;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StsError ? err.code : `not an StsError: ${String(err)}`;
  }
  return undefined;
}

test('8 generators in 2 datacenters, all with the same instance index, mint 1M ids concurrently with zero duplicates', async () => {
  // Every instance reports the same pod ordinal; it only labels the lease, never picks the worker.
  const instanceIndex = 'sts-settlement-aggregation-0';
  const generated = await Promise.all(
    [0, 0, 0, 0, 1, 1, 1, 1].map((datacenterId) => lease({ datacenterId, owner: instanceIndex })),
  );
  const generators = generated.map((l) => new SnowflakeGenerator(l));
  const slots = new Set(generators.map((g) => `${g.datacenterId}/${g.workerId}`));
  expect(slots.size).toBe(8);

  const ids = new Set<bigint>();
  await Promise.all(
    generators.map(async (g) => {
      let last = 0n;
      for (let minted = 0; minted < 125_000;) {
        for (let i = 0; i < 500; i++, minted++) {
          const id = g.next();
          if (id <= last)
            throw new Error(`generator ${g.workerId} went backwards: ${id} <= ${last}`);
          last = id;
          ids.add(id);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  expect(ids.size).toBe(1_000_000);
});

test('a small clock step back is waited out and ids keep increasing', async () => {
  const t = Date.now();
  const clock = scriptedClock([t, t + 1, t - 3, t - 2, t - 1, t, t + 1, t + 2]);
  const g = new SnowflakeGenerator(await lease({ datacenterId: 5 }), { clock, maxBackwardsMs: 5 });
  const a = g.next();
  const b = g.next();
  const c = g.next(); // the clock read t-3 here
  expect(b).toBeGreaterThan(a);
  expect(c).toBeGreaterThan(b);
  expect(decomposeId(c).timestamp).toBeGreaterThanOrEqual(t + 1);
});

test('a clock step back beyond maxBackwardsMs throws STS_CLOCK_BACKWARDS and repeats nothing', async () => {
  const t = Date.now();
  const clock = scriptedClock([t, t - 50, t + 1]);
  const g = new SnowflakeGenerator(await lease({ datacenterId: 5 }), { clock, maxBackwardsMs: 5 });
  const first = g.next();
  expect(codeOf(() => g.next())).toBe('STS_CLOCK_BACKWARDS');
  // Once the clock is past the last id again, minting resumes strictly after it.
  expect(g.next()).toBeGreaterThan(first);
});

test('the 4097th id in one millisecond waits for the next millisecond', async () => {
  const t = Date.now();
  const clock = scriptedClock(new Array<number>(MAX_SEQUENCE + 10).fill(t));
  const g = new SnowflakeGenerator(await lease({ datacenterId: 5 }), { clock });
  const ids = Array.from({ length: MAX_SEQUENCE + 2 }, () => g.next());
  const parts = ids.map((id) => decomposeId(id));
  expect(parts[MAX_SEQUENCE]).toMatchObject({ timestamp: t, sequence: MAX_SEQUENCE });
  expect(parts[MAX_SEQUENCE + 1]).toMatchObject({ timestamp: t + 1, sequence: 0 });
  expect(new Set(ids).size).toBe(ids.length);
});

test('ids are positive 18-19 digit bigints that round-trip exactly through a BIGINT column', async () => {
  const g = new SnowflakeGenerator(await lease({ datacenterId: 7 }));
  const ids = Array.from({ length: 1000 }, () => g.next());
  for (const id of ids) {
    expect(id).toBeGreaterThan(0n);
    expect(id.toString()).toMatch(/^[1-9]\d{17,18}$/);
  }
  await db.schema.createTable('id_roundtrip', (t) => t.bigInteger('id').primary());
  await db('id_roundtrip').insert(ids.map((id) => ({ id: id.toString() })));
  const back = await db('id_roundtrip').select('id').orderBy('id');
  expect(back.map((row: { id: string }) => BigInt(row.id))).toEqual(
    [...ids].sort((a, b) => (a < b ? -1 : 1)),
  );
});

test('decomposeId returns the parts an id was composed from, for 18-digit and maximal ids', () => {
  const parts = {
    timestamp: Date.UTC(2025, 6, 1, 12),
    datacenterId: 6,
    workerId: 127,
    sequence: 4095,
  };
  const id = composeId(parts);
  expect(decomposeId(id)).toEqual(parts);
  expect(decomposeId(id.toString())).toEqual(parts);
  const sample = decomposeId(652024209997893632n);
  expect(composeId(sample)).toBe(652024209997893632n);
  expect(
    decomposeId(composeId({ timestamp: ID_EPOCH_MS, datacenterId: 0, workerId: 0, sequence: 0 })),
  ).toMatchObject({ timestamp: ID_EPOCH_MS });
  expect(codeOf(() => decomposeId(-1n))).toBe('STS_CONFIG_INVALID');
});
