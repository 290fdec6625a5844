import fs from 'node:fs';
import os from 'node:os';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import type { StsConfig } from '../runtime/config';
import { findJava } from '../infra/java';
import { stackPaths } from '../infra/paths';
import { runSync } from '../infra/process-control';

/**
 * The machine a benchmark run measured, read when the run starts: figures from a 2-core box
 * shared with other work mean little without it. Every probe is best effort; one that fails
 * (no java, MariaDB down) reads "n/a" rather than stopping the run, whose benchmarks would then
 * fail with the real error anyway.
 *
 * Inputs: the stack's config (MariaDB and Redis URLs, the Kafka jars' folder). Output: MachineInfo.
 */
export interface MachineInfo {
  readAt: string;
  cpuModel: string;
  cpus: number;
  ramGiB: number;
  os: string;
  kernel: string;
  node: string;
  java: string;
  kafka: string;
  mariadb: string;
  redis: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAvg: number[];
}

const NA = 'n/a';

export async function readMachineInfo(config: StsConfig): Promise<MachineInfo> {
  const cpus = os.cpus();
  const [mariadb, redis] = await Promise.all([
    mariadbVersion(config.mysqlUrl),
    redisVersion(config.redisUrl),
  ]);
  return {
    readAt: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? NA,
    cpus: cpus.length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    java: javaVersion(),
    kafka: kafkaVersion(config.dataDir),
    mariadb,
    redis,
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? os.version();
  } catch {
    return os.version();
  }
}

function javaVersion(): string {
  try {
    const res = runSync(findJava(), ['-version'], 15_000);
    // `java -version` prints on stderr: openjdk version "17.0.15" 2025-04-15
    return `${res.stderr}${res.stdout}`.trim().split('\n')[0] ?? NA;
  } catch {
    return NA;
  }
}

/** From the broker jar's name, as infra/kafka-broker.ts reports the version. */
function kafkaVersion(dataDir: string): string {
  try {
    const jar = fs
      .readdirSync(stackPaths(dataDir).kafka.libs)
      .find((f) => /^kafka_2\.13-[\d.]+\.jar$/.test(f));
    return jar ? jar.replace(/^kafka_2\.13-|\.jar$/g, '') : NA;
  } catch {
    return NA;
  }
}

async function mariadbVersion(url: string): Promise<string> {
  try {
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
    try {
      const [rows] = (await conn.query('SELECT VERSION() AS v')) as unknown as [
        Array<{ v: string }>,
      ];
      return rows[0]?.v ?? NA;
    } finally {
      await conn.end();
    }
  } catch {
    return NA;
  }
}

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    connectTimeout: 5000,
  });
  try {
    await redis.connect();
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? NA;
  } catch {
    return NA;
  } finally {
    redis.disconnect();
  }
}
