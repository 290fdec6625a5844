import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type StsConfig } from '../runtime/config';
import type { Knex } from '../runtime/db/knex';
import { mysqlDown, mysqlUp } from '../infra/mysql-server';
import { freePort } from '../infra/ports';

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
  down(): Promise<void>;
}

export async function benchMysql(shared: StsConfig, bufferPool: string | undefined, tag: string): Promise<BenchMysql> {
  if (!bufferPool) return { config: shared, private: false, down: async () => undefined };
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
  return { config: merged, private: true, down };
}

/** What a report needs to say which server ran: its version and the settings that decide I/O. */
export async function describeServer(db: Knex, isPrivate: boolean) {
  const [[row]] = (await db.raw(
    'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS pool, @@innodb_log_file_size AS log, @@innodb_flush_log_at_trx_commit AS flush',
  )) as [[{ version: string; pool: string | number; log: string | number; flush: number }]];
  return { private: isPrivate, bufferPool: size(Number(row!.pool)), version: row!.version, redoLog: size(Number(row!.log)), flushLogAtTrxCommit: Number(row!.flush) };
}

function size(bytes: number): string {
  for (const [unit, n] of [['G', 1 << 30], ['M', 1 << 20], ['K', 1 << 10]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return String(bytes);
}
