import fs from 'node:fs';
import mysql from 'mysql2/promise';
import { databaseName, type StsConfig } from '../runtime/config';
import { BINARY_COLLATIONS } from '../runtime/db/collation';
import { PrerequisiteMissingError, ServiceUnavailableError, StartupFailedError } from './stack-errors';
import type { ComponentStatus, Reporter } from './component';
import { stackPaths } from './paths';
import { waitFor } from './ports';
import { livePid, runSync, spawnDetached, stopProcess, tail, which } from './process-control';

/**
 * MariaDB/MySQL. The machine's running server is used as it is. When nothing answers on the
 * configured local address but mariadbd is installed, a private instance is started with its data
 * under STS_DATA_DIR and an InnoDB buffer pool of STS_MYSQL_BUFFER_POOL; when it is not
 * installed, the error says how to get it.
 *
 * Failure codes: STS_SERVICE_UNAVAILABLE, STS_PREREQUISITE_MISSING, STS_STARTUP_FAILED.
 */

/** `serverArgs`: extra mariadbd flags for a private instance (a test's hostile `--sql-mode`). */
export async function mysqlUp(config: StsConfig, report: Reporter, opts: { serverArgs?: readonly string[] } = {}): Promise<ComponentStatus> {
  const first = await mysqlStatus(config);
  if (first.state === 'up') {
    await ensureDatabase(config.mysqlUrl, databaseName(config.mysqlUrl));
    return first;
  }
  const url = new URL(config.mysqlUrl);
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (!local) {
    throw new ServiceUnavailableError('MySQL', url.host, first.detail ?? 'no answer', 'start that server, or unset STS_MYSQL_URL to use the local MariaDB');
  }
  const daemon = which('mariadbd') ?? which('mysqld');
  if (!daemon) {
    throw new PrerequisiteMissingError('MariaDB server', 'apt-get install mariadb-server, or set STS_MYSQL_URL to a reachable MySQL/MariaDB');
  }
  const p = stackPaths(config.dataDir).mysql;
  if (!fs.existsSync(p.data)) {
    report('mysql: initialising a private MariaDB data directory…');
    fs.mkdirSync(p.root, { recursive: true });
    const install = which('mariadb-install-db') ?? which('mysql_install_db');
    if (!install) throw new PrerequisiteMissingError('mariadb-install-db', 'apt-get install mariadb-server');
    // --no-defaults first: the machine's my.cnf names its own user and datadir, which would win.
    const res = runSync(install, ['--no-defaults', `--datadir=${p.data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], 120_000);
    if (res.status !== 0) throw new StartupFailedError('MariaDB', `install-db failed: ${res.stderr.trim().split('\n').pop()}`, p.log);
  }
  spawnDetached({
    command: daemon,
    args: [
      '--no-defaults',
      `--datadir=${p.data}`,
      `--socket=${p.socket}`,
      `--port=${url.port || 3306}`,
      '--bind-address=127.0.0.1',
      `--log-error=${p.log}`,
      '--user=root',
      '--max-connections=500',
      `--innodb-buffer-pool-size=${config.mysqlBufferPool}`,
      `--innodb-log-file-size=${redoLogFor(config.mysqlBufferPool)}`,
      ...(opts.serverArgs ?? []),
    ],
    logFile: `${p.log}.out`,
    pidFile: p.pid,
  });
  report('mysql: started a private MariaDB, waiting for it…');
  const ready = await waitFor(async () => ((await mysqlStatus(config)).state === 'up' ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    abort: () => (livePid(p.pid) === undefined ? 'mariadbd exited' : undefined),
  });
  if (!ready.value) throw new StartupFailedError('MariaDB', `${ready.aborted ?? 'not ready in 60s'}: ${tail(p.log, 2)}`, p.log);
  await ensureDatabase(config.mysqlUrl, databaseName(config.mysqlUrl));
  return mysqlStatus(config);
}

/**
 * A quarter of the buffer pool, and never below MariaDB's 96M default. A redo log much smaller than
 * the pool forces a checkpoint, and with it page flushing, long before the pool is dirty: bulk
 * writes of millions of rows (a close, an upload) then wait on the disk instead of the log.
 */
export function redoLogFor(bufferPool: string): string {
  const m = /^(\d+)([KMG]?)$/.exec(bufferPool.toUpperCase());
  const bytes = m ? Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!]! : 0;
  return `${Math.max(96, Math.floor(bytes / 4 / 1024 ** 2))}M`;
}

export async function mysqlDown(config: StsConfig): Promise<boolean> {
  return stopProcess(stackPaths(config.dataDir).mysql.pid, 60_000);
}

export async function mysqlStatus(config: StsConfig): Promise<ComponentStatus> {
  const url = new URL(config.mysqlUrl);
  const pid = livePid(stackPaths(config.dataDir).mysql.pid);
  const base = { name: 'mysql', address: `${url.host}/${databaseName(config.mysqlUrl)}`, managed: pid !== undefined, pid };
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ ...serverOptions(config.mysqlUrl), connectTimeout: 3000 });
    const started = process.hrtime.bigint();
    const [rows] = await conn.query('SELECT VERSION() AS v');
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    return { ...base, state: 'up', latencyMs, version: (rows as Array<{ v: string }>)[0]?.v };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

/**
 * CREATE DATABASE IF NOT EXISTS, utf8mb4 with a binary NO PAD collation for refs and ids
 * (runtime/db/collation.ts; migration 0011 pins an existing database's tables to it).
 */
export async function ensureDatabase(mysqlUrl: string, name: string): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing database name ${JSON.stringify(name)}`);
  const conn = await mysql.createConnection({ ...serverOptions(mysqlUrl), connectTimeout: 5000 });
  try {
    const [rows] = (await conn.query('SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (?)', [[...BINARY_COLLATIONS]])) as unknown as [Array<{ name: string }>];
    const collation = BINARY_COLLATIONS.find((c) => rows.some((r) => r.name === c)) ?? 'utf8mb4_bin';
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE ${collation}`);
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(mysqlUrl: string, name: string): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing database name ${JSON.stringify(name)}`);
  const conn = await mysql.createConnection({ ...serverOptions(mysqlUrl), connectTimeout: 5000 });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

/** Connection options for the server itself, without selecting a database. */
function serverOptions(mysqlUrl: string): mysql.ConnectionOptions {
  const u = new URL(mysqlUrl);
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  };
}
