import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { loadConfig, PROJECT_ROOT, type StsConfig } from '../../runtime/config';
import { ChaosRunError } from './chaos-errors';
import { createConnection, type Connection } from 'mysql2/promise';
import { galeraNodePaths, galeraPaths, kafkaNodePaths, stackPaths } from '../../infra/paths';
import { galeraNodes } from '../../infra/galera-node';
import { haproxyRouting } from '../../infra/haproxy';
import { kafkaQuorum } from '../../infra/kafka-broker';
import { createKafka } from '../../runtime/kafka/client';
import { gatewayPaths } from '../../infra/gateway-simulator/stack-component';
import { isAlive, readPid, sleep } from '../../infra/process-control';
import { freePortRun, freePorts } from '../../infra/ports';

/**
 * The chaos run's own stack: a private Kafka broker, MariaDB, Redis, gateway and bank simulators, each on
 * a free port with its data under the run's directory, started by the project's own `sts up`. It
 * has to be private: the run kills the broker and the database, which would break anything else
 * using the machine's shared stack (a test suite, the demo). Only the schema registry is shared;
 * it holds schemas, not data, and the run's subjects are the pipeline's own.
 *
 * Restarts go through the same command an operator would use: kill the process, then `sts up`,
 * which starts only what is missing.
 *
 * With `kafkaNodes: 3` the broker is a three-node KRaft cluster (STS_KAFKA_NODES), each node a
 * JVM of its own that can be killed, stopped and started alone.
 *
 * With `mysqlNodes: 3` the database is a three-node Galera cluster behind HAProxy
 * (STS_MYSQL_NODES); every process connects through HAProxy, and each node can be killed alone
 * and started again by `sts up`, which rejoins it by state transfer.
 *
 * Failure codes: STS_CHAOS_RUN (a `sts up` that failed; the message carries its last lines).
 */
export type Component = 'kafka' | 'mysql' | 'redis' | 'gateway';

export interface ChaosStack {
  dir: string;
  /** Environment for every child process of the run (`sts up`, `sts run`, `sts settle close`). */
  env: NodeJS.ProcessEnv;
  config: StsConfig;
  up(): Promise<void>;
  /** kill -9 the component's process (found by its pid file), then `sts up` to start it again. */
  killAndRestart(component: 'kafka' | 'mysql'): Promise<{ downMs: number }>;
  flushRedis(): Promise<void>;
  /** Every /v1 call to the simulator answers 503 for this long. */
  gatewayOutage(ms: number): Promise<void>;
  /** Faults of the bank simulator (infra/bank-simulator/fault-plan.ts), e.g. duplicate reports. */
  bankFaults(patch: Record<string, unknown>): Promise<void>;
  /** Node ids of the Kafka cluster (1 for a single broker). */
  kafkaNodes: number[];
  /** Stops one Kafka node (kill -9, or SIGTERM for a clean shutdown) and waits until it is gone. */
  stopKafkaNode(id: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Who leads: partitions led per node over the pipeline's topics, and the active controller. */
  kafkaLeadership(topics: string[]): Promise<{ partitionsLed: Map<number, number>; controller?: number }>;
  /** Partitions of these topics whose in-sync replicas are fewer than their replicas. */
  underReplicated(topics: string[]): Promise<number>;
  /** Node ids of the Galera cluster; empty for a single MariaDB. */
  dbNodes: number[];
  /** The Galera node HAProxy sends new connections to, or undefined when none is up. */
  routedDbNode(): Promise<number | undefined>;
  /** kill -9 of one Galera node; waits until it is gone. */
  killDbNode(id: number): Promise<void>;
  /** A connection straight to one Galera node, its reads causal (they wait for the cluster's commits). */
  onDbNode<T>(id: number, fn: (conn: Connection) => Promise<T>): Promise<T>;
  down(): Promise<void>;
}

export async function chaosStack(dir: string, sharedRegistryUrl: string, extraEnv: NodeJS.ProcessEnv = {}, opts: { kafkaNodes?: number; mysqlNodes?: number } = {}): Promise<ChaosStack> {
  const nodes = opts.kafkaNodes ?? 1;
  const dbNodes = opts.mysqlNodes ?? 1;
  const [mysql, redis, gateway, bank, single, singleController] = await freePorts(6);
  // A cluster's nodes sit two ports apart: listener n at base + 2(n-1), its controller one above.
  const base = nodes > 1 ? await freePortRun(2 * nodes) : undefined;
  const [kafka, controller] = base !== undefined ? [base, base + 1] : [single, singleController];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STS_DATA_DIR: dir,
    STS_KAFKA_NODES: String(nodes),
    // Three JVMs on one machine: a smaller heap each than a single broker's.
    ...(nodes > 1 ? { STS_KAFKA_HEAP: '512m' } : {}),
    STS_KAFKA_BROKERS: `127.0.0.1:${kafka}`,
    STS_KAFKA_CONTROLLER_PORT: String(controller),
    STS_MYSQL_URL: `mysql://root@127.0.0.1:${mysql}/sts`,
    // On a Galera cluster the free port is HAProxy's, which STS_MYSQL_URL then goes through; three
    // mariadbd on one machine take a smaller buffer pool each than a single server's.
    ...(dbNodes > 1 ? { STS_MYSQL_NODES: String(dbNodes), STS_MYSQL_PROXY_PORT: String(mysql), STS_MYSQL_BUFFER_POOL: '128M' } : {}),
    STS_REDIS_URL: `redis://127.0.0.1:${redis}`,
    STS_GATEWAY_URL: `http://127.0.0.1:${gateway}`,
    // The bank simulator's folders are STS_DATA_DIR's, so the run's files never meet the shared stack's.
    STS_BANK_URL: `http://127.0.0.1:${bank}`,
    STS_BANK_POLL_MS: '500',
    STS_SCHEMA_REGISTRY_URL: sharedRegistryUrl,
    // The broker's minimum: a killed processor's partitions move on after 6 s, not 30.
    STS_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
    STS_LOG_LEVEL: process.env.STS_CHAOS_LOG_LEVEL ?? 'warn',
    ...extraEnv,
  };
  const config = loadConfig(env);
  // For an operator inspecting a run kept with --keep: `set -a; . <dir>/env; set +a; npx sts lag`.
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'env'), Object.entries(env).filter(([k]) => k.startsWith('STS_')).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const paths = stackPaths(dir);
  const pidFiles: Record<Component, string> = { kafka: paths.kafka.pid, mysql: paths.mysql.pid, redis: paths.redis.pid, gateway: gatewayPaths(dir).pid };

  const stsUp = () => runSts(['up', '--quiet'], env, 300_000);
  const nodeIds = Array.from({ length: nodes }, (_, i) => i + 1);
  const admin = async <T>(fn: (a: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>): Promise<T> => {
    const a = createKafka(config, 'sts-chaos-admin').admin();
    await a.connect();
    try {
      return await fn(a);
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  };

  return {
    dir,
    env,
    config,
    up: stsUp,
    async killAndRestart(component) {
      const pid = readPid(pidFiles[component]);
      if (pid === undefined || !isAlive(pid)) throw new ChaosRunError(`${component} of the chaos stack is not running`);
      const started = Date.now();
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
      await stsUp();
      return { downMs: Date.now() - started };
    },
    async flushRedis() {
      const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    async gatewayOutage(ms) {
      const res = await fetch(`${config.gatewayUrl}/_sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outageForMs: ms }), signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new ChaosRunError(`the simulator refused the outage: ${res.status} ${await res.text()}`);
    },
    async bankFaults(patch) {
      const res = await fetch(`${config.bankUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch), signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new ChaosRunError(`the bank simulator refused the faults: ${res.status} ${await res.text()}`);
    },
    kafkaNodes: nodeIds,
    async stopKafkaNode(id, signal) {
      const pid = readPid(kafkaNodePaths(dir, id).pid);
      if (pid === undefined || !isAlive(pid)) throw new ChaosRunError(`Kafka node ${id} of the chaos stack is not running`);
      process.kill(pid, signal);
      // A clean shutdown hands its partitions' leadership over first; give it a minute.
      const deadline = Date.now() + 60_000;
      while (isAlive(pid)) {
        if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
        await sleep(50);
      }
    },
    async kafkaLeadership(topics) {
      const metadata = await admin((a) => a.fetchTopicMetadata({ topics }));
      const partitionsLed = new Map(nodeIds.map((id) => [id, 0]));
      for (const t of metadata.topics) for (const p of t.partitions) if (p.leader >= 0) partitionsLed.set(p.leader, (partitionsLed.get(p.leader) ?? 0) + 1);
      return { partitionsLed, controller: nodes > 1 ? kafkaQuorum(config).leader : 1 };
    },
    async underReplicated(topics) {
      const metadata = await admin((a) => a.fetchTopicMetadata({ topics }));
      return metadata.topics.reduce((n, t) => n + t.partitions.filter((p) => p.isr.length < p.replicas.length).length, 0);
    },
    dbNodes: dbNodes > 1 ? Array.from({ length: dbNodes }, (_, i) => i + 1) : [],
    async routedDbNode() {
      const { routesTo } = await haproxyRouting(dir);
      return routesTo === undefined ? undefined : Number(/^node-(\d+)$/.exec(routesTo)?.[1]);
    },
    async killDbNode(id) {
      const pid = readPid(galeraNodePaths(dir, id).pid);
      if (pid === undefined || !isAlive(pid)) throw new ChaosRunError(`database node ${id} of the chaos stack is not running`);
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    },
    async onDbNode(id, fn) {
      const { base } = JSON.parse(fs.readFileSync(galeraPaths(dir).ports, 'utf8')) as { base: number };
      const node = galeraNodes(dir, dbNodes, base)[id - 1]!;
      const conn = await createConnection({ host: node.host, port: node.port, user: 'root', database: new URL(config.mysqlUrl).pathname.slice(1), connectTimeout: 5000 });
      try {
        await conn.query('SET SESSION wsrep_sync_wait = 1');
        return await fn(conn);
      } finally {
        await conn.end().catch(() => undefined);
      }
    },
    async down() {
      await runSts(['down'], env, 120_000).catch(() => undefined);
    },
  };
}

/** `node bin/sts.js ARGS` with the run's environment; rejects with its last output lines. */
export function runSts(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'sts.js'), ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new ChaosRunError(`sts ${args.join(' ')} exited with ${code ?? signal}: ${out.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}
