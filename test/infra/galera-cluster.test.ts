import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { loadConfig, type StsConfig } from '../../runtime/config';
import { backoffDelay, isRetriable } from '../../runtime/processor/retry-policy';
import { galeraDown, galeraStatuses, galeraUp } from '../../infra/galera-cluster';
import { galeraNodes } from '../../infra/galera-node';
import { galeraNodePaths, galeraPaths } from '../../infra/paths';
import { freePortRun } from '../../infra/ports';
import { livePid } from '../../infra/process-control';
import { haproxyRouting } from '../../infra/haproxy';
import { runCli } from '../fixtures/cli';

/**
 * STS_MYSQL_NODES=3: three real mariadbd processes with the galera-4 provider forming one cluster,
 * and HAProxy in front, on a scratch data directory and free ports (the shared stack's MariaDB is
 * not touched). Needs galera-4, haproxy, mariabackup and socat (`node bin/ensure-deps.js
 * --db-cluster`, which `npm test` runs).
 */

const DATABASE = 'galera_test';
let dir: string;
let env: Record<string, string>;
let config: StsConfig;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-galera-'));
  env = {
    STS_DATA_DIR: dir,
    STS_MYSQL_NODES: '3',
    STS_MYSQL_PROXY_PORT: String(await freePortRun(1)),
    STS_MYSQL_URL: `mysql://root@127.0.0.1:3306/${DATABASE}`,
    STS_MYSQL_BUFFER_POOL: '64M',
  };
  config = loadConfig({ ...process.env, ...env });
  await galeraUp(config, () => undefined);
}, 240_000);

afterAll(async () => {
  const stopped = await galeraDown(config);
  fs.rmSync(dir, { recursive: true, force: true });
  expect(stopped.sort()).toEqual(['haproxy', 'mysql-node-1', 'mysql-node-2', 'mysql-node-3']);
}, 120_000);

describe('a local Galera cluster behind HAProxy', () => {
  test('forms one cluster of three Synced nodes; a row written on node 1 is read on node 3, and writes through HAProxy land on one node', async () => {
    const status = await galeraStatuses(config);
    expect(status.map((s) => [s.name, s.state, s.detail])).toEqual([
      ['mysql', 'up', 'Galera: 3 of 3 nodes Synced, cluster size 3; writes go to node-1'],
      ['haproxy', 'up', 'writes go to node-1'],
      ['mysql-node-1', 'up', 'Synced, cluster size 3'],
      ['mysql-node-2', 'up', 'Synced, cluster size 3'],
      ['mysql-node-3', 'up', 'Synced, cluster size 3'],
    ]);
    expect(new URL(config.mysqlUrl).port).toBe(env.STS_MYSQL_PROXY_PORT);

    await onNode(1, async (c) => {
      await c.query('CREATE TABLE rows_by_node (id INT PRIMARY KEY, via VARCHAR(16) NOT NULL)');
      await c.query("INSERT INTO rows_by_node VALUES (1, 'node-1')");
    });
    expect(await onNode(3, (c) => rows(c, 'SELECT via FROM rows_by_node WHERE id = 1'))).toEqual([{ via: 'node-1' }]);

    const proxy = await mysql.createConnection(config.mysqlUrl);
    try {
      await proxy.query("INSERT INTO rows_by_node VALUES (2, 'haproxy')");
      expect(await rows(proxy, 'SELECT @@wsrep_node_name AS node')).toEqual([{ node: 'node-1' }]);
    } finally {
      await proxy.end();
    }
    expect(await onNode(2, (c) => rows(c, 'SELECT id, via FROM rows_by_node ORDER BY id'))).toEqual([
      { id: 1, via: 'node-1' },
      { id: 2, via: 'haproxy' },
    ]);
  });

  test('`sts status` lists HAProxy and each node with its state and the cluster size', async () => {
    const [json, text] = await Promise.all([runCli(['status', '--json'], env), runCli(['status'], env)]);
    const components = (JSON.parse(json.stdout) as { components: Array<{ name: string; state: string; address: string; detail?: string }> }).components;
    const db = components.filter((c) => c.name === 'mysql' || c.name === 'haproxy' || c.name.startsWith('mysql-node-'));
    expect(db.map((c) => [c.name, c.state, c.address])).toEqual([
      ['mysql', 'up', `127.0.0.1:${env.STS_MYSQL_PROXY_PORT}/${DATABASE}`],
      ['haproxy', 'up', `127.0.0.1:${env.STS_MYSQL_PROXY_PORT}`],
      ...[1, 2, 3].map((id) => [`mysql-node-${id}`, 'up', expect.stringMatching(/^127\.0\.0\.1:\d+$/)]),
    ]);
    expect(text.stdout).toMatch(/^mysql\s.*Galera: 3 of 3 nodes Synced, cluster size 3; writes go to node-1$/m);
    for (const id of [1, 2, 3]) expect(text.stdout).toMatch(new RegExp(`^mysql-node-${id}\\s+up\\s.*Synced, cluster size 3$`, 'm'));
  });

  test('the same row updated on two nodes at once: one commit loses certification with a retriable error, and its bounded retry succeeds', async () => {
    await onNode(1, async (c) => {
      await c.query('CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL)');
      await c.query('INSERT INTO counter VALUES (1, 0)');
    });
    const a = await nodeConnection(1);
    const b = await nodeConnection(2);
    try {
      // Each node's row lock is local, so both updates go through; the cluster orders the commits.
      await Promise.all([a.query('BEGIN'), b.query('BEGIN')]);
      await Promise.all([a.query('UPDATE counter SET n = n + 1 WHERE id = 1'), b.query('UPDATE counter SET n = n + 1 WHERE id = 1')]);
      const commits = await Promise.allSettled([a.query('COMMIT'), b.query('COMMIT')]);
      const lost = commits.flatMap((c, i) => (c.status === 'rejected' ? [{ conn: [a, b][i]!, err: c.reason as { errno?: number; code?: string; message?: string } }] : []));
      expect(lost).toHaveLength(1);
      // Failed certification at its own commit, or aborted by the winner's write applied first.
      expect(lost[0]!.err).toMatchObject({ errno: 1213, code: 'ER_LOCK_DEADLOCK', message: expect.stringMatching(/WSREP detected deadlock\/conflict|Deadlock found/) });
      expect(isRetriable(lost[0]!.err)).toBe(true);

      const loser = lost[0]!.conn;
      let attempts = 0;
      await retryBounded(async () => {
        attempts++;
        await loser.query('BEGIN');
        await loser.query('UPDATE counter SET n = n + 1 WHERE id = 1');
        await loser.query('COMMIT');
      });
      expect(attempts).toBe(1);

      // Under contention: both nodes add to the row 40 times at once, each losing transaction rerun
      // within the bound. No increment is lost and none counts twice.
      const increments = (conn: mysql.Connection) => async () => {
        for (let i = 0; i < 40; i++) {
          await retryBounded(async () => {
            await conn.query('BEGIN');
            try {
              await conn.query('UPDATE counter SET n = n + 1 WHERE id = 1');
              await conn.query('COMMIT');
            } catch (err) {
              await conn.query('ROLLBACK').catch(() => undefined);
              throw err;
            }
          });
        }
      };
      await Promise.all([increments(a)(), increments(b)()]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
    for (const id of [1, 2, 3]) expect(await onNode(id, (c) => rows(c, 'SELECT n FROM counter'))).toEqual([{ n: 82 }]);
  });

  test('kill -9 of the node HAProxy routes to, mid-writes: writes fail over and go on, the cluster is 2; the node rejoins by state transfer with the rows it missed', async () => {
    await onNode(1, (c) => c.query('CREATE TABLE writes (seq INT PRIMARY KEY, at_node VARCHAR(16) NOT NULL)'));
    const pool = mysql.createPool({ uri: config.mysqlUrl, connectionLimit: 2 });
    const acknowledged: number[] = [];
    let retries = 0;
    let writing = true;
    const writer = (async () => {
      for (let seq = 1; writing; seq++) {
        // IGNORE: a commit whose answer was lost with its connection may have landed already.
        await retryBounded(() => pool.query('INSERT IGNORE INTO writes VALUES (?, @@wsrep_node_name)', [seq]), () => retries++);
        acknowledged.push(seq);
        await sleep(10);
      }
    })();
    try {
      await until('the first writes', async () => acknowledged.length >= 20);
      const routed = (await haproxyRouting(dir)).routesTo;
      expect(routed).toBe('node-1');
      const victim = livePid(galeraNodePaths(dir, 1).pid)!;
      process.kill(victim, 'SIGKILL');
      const atKill = acknowledged.length;

      await until('HAProxy routing to a backup', async () => ((await haproxyRouting(dir)).routesTo ?? 'node-1') !== 'node-1');
      await until('writes going on after the failover', async () => acknowledged.length >= atKill + 50);
      await until('cluster size 2', async () => (await onNode(2, (c) => rows(c, "SHOW STATUS LIKE 'wsrep_cluster_size'")))[0]?.Value === '2');
      const degraded = await galeraStatuses(config);
      expect(degraded.find((s) => s.name === 'mysql-node-1')?.state).toBe('down');
      expect(degraded[0]!.detail).toMatch(/^Galera: 2 of 3 nodes Synced, cluster size 2; writes go to node-[23]; down: node-1$/);
      const missedFrom = acknowledged.length;

      // What `sts up` does for a stopped node: recover its position, start it as a joiner.
      const logFrom = fs.statSync(galeraNodePaths(dir, 1).log).size;
      await galeraUp(config, () => undefined);
      expect(fs.readFileSync(galeraNodePaths(dir, 1).log, 'utf8').slice(logFrom)).toMatch(/IST received|SST succeeded/);
      await until('writes back on node 1', async () => (await haproxyRouting(dir)).routesTo === 'node-1');
      await until('more writes after the rejoin', async () => acknowledged.length >= missedFrom + 50);
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      await pool.end();
    }
    await writer;
    // Every acknowledged write is on every node, node 1 included, though it was down for some.
    for (const id of [1, 2, 3]) {
      const [stats] = await onNode(id, (c) => rows(c, "SELECT COUNT(*) AS n, SUM(at_node <> 'node-1') AS elsewhere, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE') AS size FROM writes"));
      expect({ node: id, n: Number(stats!.n), size: stats!.size }).toEqual({ node: id, n: acknowledged.length, size: '3' });
      expect(Number(stats!.elsewhere)).toBeGreaterThan(0);
    }
    expect(retries).toBeGreaterThan(0);
  }, 180_000);
});

/** The pipeline's bound on a retriable failure, in miniature: the same classification and backoff. */
async function retryBounded<T>(fn: () => Promise<T>, onRetry: () => void = () => undefined, attempts = 40): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetriable(err) || attempt + 1 >= attempts) throw err;
      onRetry();
      await sleep(backoffDelay(attempt, { initialDelayMs: 50, maxDelayMs: 500 }));
    }
  }
}

/** A connection straight to one node, reads made causal: they wait for the cluster's commits. */
async function nodeConnection(id: number): Promise<mysql.Connection> {
  const { base } = JSON.parse(fs.readFileSync(galeraPaths(dir).ports, 'utf8')) as { base: number };
  const node = galeraNodes(dir, 3, base)[id - 1]!;
  const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root', database: DATABASE });
  await conn.query('SET SESSION wsrep_sync_wait = 1');
  return conn;
}

async function onNode<T>(id: number, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await nodeConnection(id);
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

async function rows(c: mysql.Connection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await c.query(sql))[0] as Array<Record<string, unknown>>;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
