import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type StsConfig } from '../runtime/config';
import type { Knex } from '../runtime/db/knex';
import { mysqlDown, mysqlUp } from '../infra/mysql-server';
import { freePort } from '../infra/ports';
import { stackPaths } from '../infra/paths';
import { livePid } from '../infra/process-control';

/**
 * The MariaDB a benchmark runs on. By default the shared one the stack uses; with
 * `--private-mysql <bufferPool>` (e.g. 4G) a private mariadbd started for the run through the same
 * mysqlUp `sts up` uses, with its data under STS_DATA_DIR/bench/mysql-<tag>/ and removed after.
 * The issues' sizes (10M items, 1M-row files) are gigabytes; the shared server's default 128 MB
 * buffer pool would measure the disk instead of the code. Each bench records which server ran it
 * (`describeServer`), and its reference (LOAD DATA, the naive baseline) runs on the same server.
 *
 * Inputs: the shared config, the buffer pool (or undefined), a run tag. Failure: mysqlUp's codes
 * (STS_PREREQUISITE_MISSING, STS_STARTUP_FAILED); a failed start removes what it created.
 */
export interface BenchMysql {
  config: StsConfig;
  private: boolean;
  /** The private mariadbd's process id, for CPU accounting; undefined on the shared server. */
  pid(): number | undefined;
  down(): Promise<void>;
}

export async function benchMysql(shared: StsConfig, bufferPool: string | undefined, tag: string): Promise<BenchMysql> {
  if (!bufferPool) return { config: shared, private: false, pid: () => undefined, down: async () => undefined };
  const dir = path.join(shared.dataDir, 'bench', `mysql-${tag}`);
  // Through loadConfig, so the size is validated like the variable an operator would set.
  const config = loadConfig({ ...process.env, STS_DATA_DIR: dir, STS_MYSQL_URL: `mysql://root@127.0.0.1:${await freePort()}/sts`, STS_MYSQL_BUFFER_POOL: bufferPool });
  // Only the database moves; Kafka, the registry and the data directory stay the shared ones.
  const merged: StsConfig = { ...shared, mysqlUrl: config.mysqlUrl, mysqlBufferPool: config.mysqlBufferPool };
  process.stdout.write(`private MariaDB (buffer pool ${config.mysqlBufferPool}) at ${new URL(config.mysqlUrl).host}, data in ${dir}\n`);
  const down = async () => {
    await mysqlDown(config);
    await fs.promises.rm(dir, { recursive: true, force: true });
  };
  try {
    await mysqlUp(config, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    await down();
    throw err;
  }
  return { config: merged, private: true, pid: () => livePid(stackPaths(dir).mysql.pid), down };
}

/** What a report needs to say which server ran: its version and the settings that decide I/O. */
export async function describeServer(db: Knex, isPrivate: boolean) {
  const [[row]] = (await db.raw(
    'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS pool, @@innodb_log_file_size AS log, @@innodb_flush_log_at_trx_commit AS flush',
  )) as [[{ version: string; pool: string | number; log: string | number; flush: number }]];
  return { private: isPrivate, bufferPool: size(Number(row!.pool)), version: row!.version, redoLog: size(Number(row!.log)), flushLogAtTrxCommit: Number(row!.flush) };
}

export type ServerDescription = Awaited<ReturnType<typeof describeServer>>;

/** The note saying which MariaDB a figure was measured on: the figure depends on it. */
export function serverNote(m: ServerDescription): string {
  const which = m.private
    ? "a private MariaDB started for this run (the benchmark's --private-mysql flag)"
    : "the machine's shared MariaDB";
  return `Database: ${which}, ${m.version}, InnoDB buffer pool ${m.bufferPool}, redo log ${m.redoLog}; the reference ran on the same server.`;
}

function size(bytes: number): string {
  for (const [unit, n] of [['G', 1 << 30], ['M', 1 << 20], ['K', 1 << 10]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return String(bytes);
}

/**
 * Waits until a private server has written its dirty pages and purged old row versions, so the
 * phase that follows starts from an idle server and is not charged for the flushing and purge of
 * the phase before it (back to back at 1M rows, a third round ran at three times the CPU while
 * the server caught up). Only for a private server: on the shared one it changes nothing global.
 */
export async function settleServer(db: Knex, isPrivate: boolean, timeoutMs = 180_000): Promise<void> {
  if (!isPrivate) return;
  const [[before]] = (await db.raw('SELECT @@innodb_max_dirty_pages_pct AS pct')) as [[{ pct: number | string }]];
  await db.raw('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const [status] = (await db.raw(
        "SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_PAGES_DIRTY', 'INNODB_HISTORY_LIST_LENGTH')",
      )) as [Array<{ name: string; value: string }>];
      const value = (name: string) => Number(status.find((s) => s.name === name)?.value ?? 0);
      if (value('INNODB_BUFFER_POOL_PAGES_DIRTY') < 100 && value('INNODB_HISTORY_LIST_LENGTH') < 1000) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stdout.write(`mysql: still flushing after ${timeoutMs / 1000} s; going on\n`);
  } finally {
    await db.raw(`SET GLOBAL innodb_max_dirty_pages_pct = ${Number(before!.pct)}`);
  }
}
