import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, withDatabase, type StsConfig } from '../../runtime/config';
import { createDb } from '../../runtime/db/knex';
import { migrateLatest } from '../../runtime/db/migrate';
import { listFindings } from '../../services/recon/finding-store';
import { galeraDown, galeraUp } from '../../infra/galera-cluster';
import { galeraNodes, type GaleraNode } from '../../infra/galera-node';
import { ensureDatabase } from '../../infra/mysql-server';
import { galeraPaths } from '../../infra/paths';
import { freePortRun } from '../../infra/ports';
import { contenderDb, leaseRow, type Contest } from '../fixtures/contenders';
import {
  CLOSE_SELLERS,
  closeSetup,
  closeTakenOver,
  cycleState,
  twoClosesOfOneRegion,
} from '../fixtures/close-scenarios';
import {
  createProbeTable,
  fenceAfterTakeover,
  handOverRoundAfterRound,
  lease,
  probeIds,
  probeRows,
  raceForNewRoles,
} from '../fixtures/lease-scenarios';
import { RECON_ENTITY, reconTakenOver, twoReconRuns } from '../fixtures/recon-scenarios';
import { twoRelaysHandOver } from '../fixtures/relay-scenarios';
import { waitFor } from '../fixtures/processor-harness';
import { pendingRows, relayKit } from '../fixtures/relay-kit';
import { useTestResources } from '../fixtures/resources';

/**
 * "Exactly one at a time" across the nodes of a multi-primary cluster: the exclusivity scenarios
 * of the single-server tests (the *-scenarios.ts fixtures) on a private three-node Galera cluster
 * (infra/galera-cluster.ts, a scratch data directory and free ports), each contender connected
 * straight to another node with a pool of its own. There a row lock holds only the sessions of
 * its own node; two writes of one row from two nodes both go through, and certification lets one
 * commit and aborts the other (ER_LOCK_DEADLOCK at commit). The leases rest on that, not on locks.
 *
 * The test's own pool reads causally (wsrep_sync_wait, through a user of its own: see
 * observerLogin), so what it checks is the cluster's state; the contenders read as an application
 * would, whatever their node has applied so far.
 *
 * Runs in about 60 s alone (75 s beside other test files), about 35 s of it starting the cluster. Needs galera-4, haproxy, mariabackup and
 * socat (`node bin/ensure-deps.js --db-cluster`, which `npm test` runs); Kafka and the registry
 * are the shared stack's.
 */
const r = useTestResources();
const kit = relayKit(r);
/** A user without SUPER, so the nodes' init_connect applies to it (and not to root). */
const OBSERVER = 'sts_observer';
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

let dir: string | undefined;
let config: StsConfig | undefined;
let nodes: GaleraNode[] = [];
const pools: Knex[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-galera-excl-'));
  config = loadConfig({
    ...process.env,
    STS_DATA_DIR: dir,
    STS_MYSQL_NODES: '3',
    STS_MYSQL_PROXY_PORT: String(await freePortRun(1)),
    STS_MYSQL_URL: 'mysql://root@127.0.0.1:3306/galera_exclusivity',
    STS_MYSQL_BUFFER_POOL: '64M',
  });
  await galeraUp(config, () => undefined);
  const { base } = JSON.parse(fs.readFileSync(galeraPaths(dir).ports, 'utf8')) as { base: number };
  nodes = galeraNodes(dir, 3, base);
  await observerLogin();
}, 240_000);

afterAll(async () => {
  // The scenarios' own cleanups (useTestResources) ran first: relays stopped, leases released.
  await Promise.all(pools.map((db) => db.destroy().catch(() => undefined)));
  if (config) await galeraDown(config);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 120_000);

/**
 * Every session of the observer user waits, before each statement, until its node has applied
 * everything the cluster committed before it (wsrep_sync_wait = 15): a check made right after a
 * contender committed on another node sees that commit. Set through init_connect because a pool
 * opens sessions of its own accord; it runs for every login without SUPER, so the statement
 * leaves the others (HAProxy's check user) at the default, 0.
 */
async function observerLogin(): Promise<void> {
  for (const node of nodes) {
    const db = createDb(nodeUrl(node, 'root', ''), { pool: 1 });
    try {
      if (node.id === 1) {
        for (const host of ['localhost', '127.0.0.1'])
          await db.raw(`CREATE USER IF NOT EXISTS '${OBSERVER}'@'${host}'`);
      }
      await db.raw('SET GLOBAL init_connect = ?', [
        `SET SESSION wsrep_sync_wait = IF(CURRENT_USER() LIKE '${OBSERVER}@%', 15, 0)`,
      ]);
    } finally {
      await db.destroy();
    }
  }
}

function nodeUrl(node: GaleraNode, user: string, database: string): string {
  return `mysql://${user}@${node.host}:${node.port}/${database}`;
}

function pool(url: string): Knex {
  const db = createDb(url, { pool: 4 });
  pools.push(db);
  return db;
}

interface ClusterContest extends Contest {
  /** The observer's pool on each node, node 1 first. */
  everyNode: Knex[];
}

/**
 * A fresh database on the cluster, migrated through HAProxy (node 1), with one contender on each
 * of the nodes `on` and the test's own pool on node 3.
 */
async function clusterContest(on: number[]): Promise<ClusterContest> {
  const name = r.unique('sts_g');
  await ensureDatabase(config!.mysqlUrl, name);
  const admin = createDb(withDatabase(config!.mysqlUrl, name), { pool: 2 });
  try {
    for (const host of ['localhost', '127.0.0.1'])
      await admin.raw(`GRANT ALL ON \`${name}\`.* TO '${OBSERVER}'@'${host}'`);
    await migrateLatest(admin);
  } finally {
    await admin.destroy();
  }
  const everyNode = nodes.map((n) => pool(nodeUrl(n, OBSERVER, name)));
  for (const [i, db] of everyNode.entries()) {
    await waitFor(
      `the schema on node ${i + 1}`,
      async () => (await migrations(db)) === (await migrations(everyNode[0]!)),
      30_000,
      100,
    );
  }
  const contenders = on.map((id) => contenderDb(r, nodeUrl(nodes[id - 1]!, 'root', name)));
  for (const db of contenders)
    expect(await nodeName(db)).toBe(`node-${on[contenders.indexOf(db)]}`);
  return { r, db: everyNode[2]!, contenders, everyNode };
}

async function migrations(db: Knex): Promise<number> {
  const [row] = await db('knex_migrations').count({ n: '*' });
  return Number(row?.n);
}

async function nodeName(db: Knex): Promise<string> {
  const [rows] = (await db.raw('SELECT @@wsrep_node_name AS name')) as [Array<{ name: string }>];
  return rows[0]!.name;
}

function onEveryNode<T>(c: { everyNode: Knex[] }, read: (db: Knex) => Promise<T>): Promise<T[]> {
  return Promise.all(c.everyNode.map(read));
}

test('lease contenders on nodes 1, 2 and 3 racing for one role: exactly one holds it at a time, round after round', async () => {
  const c = await clusterContest([1, 2, 3]);
  await createProbeTable(c.db);
  await raceForNewRoles(c, 20);
  await handOverRoundAfterRound(c, 20);
  const rows = await probeRows(c.db);
  expect(rows).toHaveLength(20);
  expect(await onEveryNode(c, probeRows)).toEqual([rows, rows, rows]);
});

test('a holder on node 1 whose lease was taken over from node 2 cannot commit a fenced write: its row is on no node', async () => {
  const c = await clusterContest([1, 2]);
  await createProbeTable(c.db);
  const { kept, refused } = await fenceAfterTakeover(c);
  expect(kept).not.toContain(refused[0]);
  expect(await onEveryNode(c, probeIds)).toEqual([kept, kept, kept]);
});

test("a fenced write on node 1 racing a takeover from node 2: the takeover does not wait for the holder's lock, and the two never both commit out of order", async () => {
  const c = await clusterContest([1, 2]);
  await createProbeTable(c.db);
  const [dbA, dbB] = c.contenders as [Knex, Knex];
  const ROW = 718_260_417_730_553_808n;
  const outcomes: string[] = [];
  for (let round = 0; round < 8; round++) {
    const name = `sts.test.fence-race-${round}`;
    const a = lease(r, dbA, name, { ttlMs: 300 });
    const b = lease(r, dbB, name);
    expect(await a.tryAcquire()).toBe(true);
    const token = a.token!;
    const trx = await dbA.transaction();
    const committed = trx.executionPromise.then(
      () => true,
      (err: unknown) => {
        // Refused by certification: the takeover's write of the lease row came first.
        expect(err).toMatchObject({ errno: 1213, code: 'ER_LOCK_DEADLOCK' });
        return false;
      },
    );
    await trx.raw(`INSERT INTO lease_probe (id, token) VALUES (${ROW + BigInt(round)}, ${token})`);
    await a.fence(trx);
    // The fence holds the lease row on node 1 only; by node 2's clock the lease expires meanwhile.
    await waitFor(
      "a's lease to expire on node 2",
      async () => (await leaseRow(dbB, name))?.expired === true,
      10_000,
      20,
    );
    let won: boolean;
    if (round === 0) {
      // On one server this takeover would wait for a's commit (lease.test.ts). Here nothing holds
      // it back: it commits, and a's commit is the one refused.
      won = await b.tryAcquire();
      await trx.commit().catch(() => undefined);
      expect([won, await committed]).toEqual([true, false]);
    } else {
      // At once, the commit a little later each round: either may be certified first.
      const commitAfterMs = [0, 1, 2, 4, 6, 8, 12][round - 1]!;
      [won] = await Promise.all([
        b.tryAcquire(),
        sleep(commitAfterMs).then(() => trx.commit().catch(() => undefined)),
      ]);
    }
    const wrote = await committed;
    outcomes.push(
      wrote && won
        ? 'write, then takeover'
        : wrote
          ? 'write; takeover refused'
          : 'takeover; write refused',
    );
    // At least one of them went through, and every node agrees on what happened, in this order:
    // a's fenced write counted under its own token (fenced_writes), then b's takeover (token + 1).
    // A write committed after the takeover would show the old token or a missing count.
    expect(wrote || won).toBe(true);
    const agreed = {
      token: String(token + (won ? 1n : 0n)),
      fenced: String(wrote ? 1 : 0),
      row: wrote ? 1 : 0,
    };
    expect(
      await onEveryNode(c, async (db) => {
        const [rows] = (await db.raw(
          `SELECT CAST(token AS CHAR) AS token, CAST(fenced_writes AS CHAR) AS fenced,
                  (SELECT COUNT(*) FROM lease_probe WHERE id = ${ROW + BigInt(round)}) AS \`row\`
             FROM role_lease WHERE name = ?`,
          [name],
        )) as [Array<{ token: string; fenced: string; row: number | string }>];
        return { ...rows[0]!, row: Number(rows[0]!.row) };
      }),
    ).toEqual([agreed, agreed, agreed]);
    await b.release();
  }
  kit.logger.warn({ outcomes }, 'fenced write against takeover, by round');
});

test('two outbox relays on nodes 1 and 2: every row published, each key in order, the marks of the one that lost its lease refused', async () => {
  const c = await clusterContest([1, 2]);
  // Refused by the fence (its node had the takeover), or by certification (the standby's marks of
  // the same rows committed first).
  await twoRelaysHandOver(c, kit, ['STS_LOCK_UNAVAILABLE', 'ER_LOCK_DEADLOCK']);
  expect(await onEveryNode(c, pendingRows)).toEqual([0, 0, 0]);
}, 120_000);

test('two closes of one region on nodes 1 and 2 at once: one closes it, the other is refused, every payout exists once', async () => {
  const c = await clusterContest([1, 2]);
  const cycleId = await twoClosesOfOneRegion(c, await closeSetup(r, c.db));
  const closed = { status: 'CLOSED', payees: CLOSE_SELLERS };
  expect(await onEveryNode(c, (db) => cycleState(db, cycleId))).toEqual([closed, closed, closed]);
}, 120_000);

test('a close on node 1 whose region lease was taken over from node 2 commits nothing more, and the new holder closes the cycle whole', async () => {
  const c = await clusterContest([1, 2]);
  const cycleId = await closeTakenOver(c, await closeSetup(r, c.db));
  const closed = { status: 'CLOSED', payees: CLOSE_SELLERS };
  expect(await onEveryNode(c, (db) => cycleState(db, cycleId))).toEqual([closed, closed, closed]);
}, 120_000);

test('two reconciliation runs on nodes 1 and 2: their rules never run at the same time, and the finding is kept once', async () => {
  const c = await clusterContest([1, 2]);
  await twoReconRuns(c);
  const once = [['probe', RECON_ENTITY]];
  expect(
    await onEveryNode(c, async (db) =>
      (await listFindings(db, { all: true })).map((f) => [f.rule, f.entity]),
    ),
  ).toEqual([once, once, once]);
});

test('a reconciliation run on node 1 whose lease was taken over from node 2 saves none of its findings', async () => {
  await reconTakenOver(await clusterContest([1, 2]));
});
