import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createDb } from '../../../runtime/db/knex';
import { Lease, type LeaseOptions } from '../../../runtime/db/lease';
import { spawnProcessorChild, stopChildren } from '../../fixtures/child-process';
import { contenderDb, leaseRow, serverContest, type Contest } from '../../fixtures/contenders';
import {
  createProbeTable,
  fenceAfterTakeover,
  fencedInsert,
  handOverRoundAfterRound,
  lease as leaseOn,
  probeIds,
  raceForNewRoles,
} from '../../fixtures/lease-scenarios';
import { waitFor } from '../../fixtures/processor-harness';
import { useTestResources } from '../../fixtures/resources';

/**
 * Leases in role_lease (runtime/db/lease.ts): one holder per role, handed over on expiry or
 * release with a higher fencing token, kept alive by renewal, and a fence that refuses the writes
 * of a holder that lost its lease. Contenders each have a pool of their own (contenders.ts); the
 * scenarios of lease-scenarios.ts run again with them on different nodes of a Galera cluster
 * (test/infra/galera-exclusivity.test.ts).
 */
const r = useTestResources();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const ROW = 718_260_417_730_551_808n;

async function probeDb(): Promise<Contest & { url: string }> {
  const contest = await serverContest(r);
  await createProbeTable(contest.db);
  return contest;
}

const lease = (db: Knex, name: string, opts: LeaseOptions = {}) => leaseOn(r, db, name, opts);

test('of contenders asking at once, exactly one holds the lease, and the others are refused until it is free', async () => {
  await raceForNewRoles(await probeDb(), 20);
});

test('a role handed over round after round goes to exactly one contender each time, with the next token', async () => {
  await handOverRoundAfterRound(await probeDb(), 20);
});

test('a lease whose holder died is taken over once it expires by the database clock, with a higher token', async () => {
  const { url, contenders } = await probeDb();
  const [, db] = contenders as [Knex, Knex];
  const name = 'sts.test.expiry';
  // The holder's process dies: its pool is gone, nothing renews its lease.
  const doomedDb = createDb(url, { pool: 1 });
  const doomed = new Lease(doomedDb, name, { ttlMs: 1000 });
  expect(await doomed.tryAcquire()).toBe(true);
  await doomedDb.destroy();

  const heir = lease(db, name, { ttlMs: 1000 });
  expect(await heir.tryAcquire()).toBe(false);
  await waitFor('the lease to expire', async () => (await leaseRow(db, name))!.expired, 5000, 50);
  expect(await heir.tryAcquire()).toBe(true);
  expect(heir.token).toBe(doomed.token! + 1n);
  expect((await leaseRow(db, name))!.token).toBe(heir.token);
});

test('a released lease is free at once', async () => {
  const { contenders } = await probeDb();
  const [dbA, dbB] = contenders as [Knex, Knex];
  const name = 'sts.test.release';
  const a = lease(dbA, name);
  const b = lease(dbB, name);
  expect(await a.tryAcquire()).toBe(true);
  expect(await b.tryAcquire()).toBe(false);
  await a.release();
  expect(a.held).toBe(false);
  // No TTL (10 s by default) to wait out: the next ask takes it.
  expect(await b.tryAcquire()).toBe(true);
  expect(b.token).toBe(2n);
  expect((await leaseRow(dbB, name))!.token).toBe(2n);
});

test('a holder whose lease was taken over cannot write: its fenced transaction fails and its rows are not there', async () => {
  await fenceAfterTakeover(await probeDb());
});

test("on one server a takeover waits for the holder's fenced transaction to commit", async () => {
  const { db, contenders } = await probeDb();
  const [dbA, dbB] = contenders as [Knex, Knex];
  const name = 'sts.test.row-lock';
  const a = lease(dbA, name, { ttlMs: 500 });
  const b = lease(dbB, name, { ttlMs: 500 });
  expect(await a.tryAcquire()).toBe(true);
  const trx = await dbA.transaction();
  await trx.raw(`INSERT INTO lease_probe (id, token) VALUES (${ROW}, ${a.token})`);
  await a.fence(trx);
  // The fence holds the lease row until a commits, so neither a's renewals nor b's takeover get
  // through meanwhile, however long a takes: its lease expires by the clock, yet b waits.
  await sleep(1000);
  let taken: boolean | undefined;
  const takeover = b.tryAcquire().then((won) => (taken = won));
  await sleep(500);
  expect(taken).toBeUndefined();
  await trx.commit();
  expect(await takeover).toBe(true);
  expect(b.token).toBe(a.token! + 1n);
  // What a committed under its lease stays: it was the holder when it wrote.
  expect(await probeIds(db)).toEqual([ROW]);
});

test('renewal keeps a lease past its TTL for as long as the holder lives', async () => {
  const { contenders } = await probeDb();
  const [dbA, dbB] = contenders as [Knex, Knex];
  const name = 'sts.test.renew';
  const a = lease(dbA, name, { ttlMs: 600 });
  const b = lease(dbB, name, { ttlMs: 600 });
  expect(await a.tryAcquire()).toBe(true);
  const token = a.token;
  for (let i = 0; i < 8; i++) {
    await sleep(300);
    expect(await b.tryAcquire()).toBe(false);
  }
  // 2.4 s, four TTLs, later: still a's, under the same token, and its writes go through.
  expect((await leaseRow(dbB, name))!.expired).toBe(false);
  await expect(a.assertHeld()).resolves.toBeUndefined();
  expect(a.token).toBe(token);
  await fencedInsert(dbA, a, ROW);
});

test('a holder frozen (SIGSTOP) past its TTL loses the lease, and after SIGCONT its fenced write fails', async () => {
  const { db, url } = await probeDb();
  const name = 'sts.test.frozen';
  const go = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sts-lease-')), 'go');
  r.defer(() => fs.rmSync(path.dirname(go), { recursive: true, force: true }));
  const child = spawnProcessorChild({
    mysqlUrl: url,
    topic: '',
    group: '',
    script: path.join(__dirname, '../../fixtures/lease-child.ts'),
    extraEnv: {
      FIXTURE_LEASE: name,
      FIXTURE_TTL_MS: '1000',
      FIXTURE_ROW: String(ROW),
      FIXTURE_GO: go,
    },
  });
  try {
    const held = await child.waitForLine(/^in-trx \d+$/);
    const frozenToken = BigInt(held!.split(' ')[1]!);
    // Frozen with its write open and not yet fenced: no renewal runs while it sleeps.
    child.proc.kill('SIGSTOP');
    const heir = lease(contenderDb(r, url), name, { ttlMs: 10_000 });
    await waitFor('the frozen lease to expire', async () => (await leaseRow(db, name))!.expired, 10_000, 50);
    expect(await heir.tryAcquire()).toBe(true);
    expect(heir.token).toBe(frozenToken + 1n);

    fs.writeFileSync(go, '');
    child.proc.kill('SIGCONT');
    expect(await child.waitForLine(/^(committed|fenced .*)$/, 30_000)).toBe(
      'fenced STS_LOCK_UNAVAILABLE',
    );
    expect(await child.waitForLine(/^lost$/, 10_000)).toBe('lost');
    expect((await child.exited).code).toBe(0);
    expect(await probeIds(db)).toEqual([]);
    // The heir still holds the role.
    await expect(heir.assertHeld()).resolves.toBeUndefined();
  } finally {
    await stopChildren([child], { expectClean: false });
  }
}, 60_000);

test('no code takes a MySQL named lock any more: exclusive roles are leases', () => {
  const root = path.join(__dirname, '../../..');
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js)$/.test(entry.name) && full !== __filename) {
        if (/\b(GET_LOCK|IS_USED_LOCK|IS_FREE_LOCK|RELEASE_LOCK)\s*\(/.test(fs.readFileSync(full, 'utf8')))
          found.push(path.relative(root, full));
      }
    }
  };
  for (const dir of ['runtime', 'processors', 'settlement', 'services', 'ops', 'tools', 'bench', 'infra', 'test'])
    if (fs.existsSync(path.join(root, dir))) walk(path.join(root, dir));
  expect(found).toEqual([]);
});
