import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { StartupFailedError } from './stack-errors';
import { redoLogFor } from './mysql-server';
import { galeraNodePaths } from './paths';
import { runSync, spawnDetached } from './process-control';

/**
 * One MariaDB node of a local Galera cluster: where it listens, the my.cnf it runs with, the
 * replication state it left on disk, and what it says about itself. The cluster's lifecycle
 * (which node bootstraps, who joins, HAProxy) is infra/galera-cluster.ts.
 *
 * Each node takes four consecutive loopback ports from the cluster's base (infra/ports.ts,
 * freePortRun): SQL, group communication (gcomm), incremental state transfer (IST) and full
 * state transfer (SST).
 *
 * Failure codes: STS_STARTUP_FAILED (install-db or --wsrep-recover failed).
 */

export const PORTS_PER_NODE = 4;

/** Where Debian's galera-4 puts the provider (the second path: older packagings). */
const PROVIDERS = ['/usr/lib/galera/libgalera_smm.so', '/usr/lib/libgalera_smm.so'];

export function galeraProvider(): string | undefined {
  return PROVIDERS.find((p) => fs.existsSync(p));
}

export interface GaleraNode {
  id: number;
  host: string;
  /** SQL. */
  port: number;
  gcommPort: number;
  istPort: number;
  sstPort: number;
  paths: ReturnType<typeof galeraNodePaths>;
}

/** Nodes 1..count of the cluster whose ports start at `base`. */
export function galeraNodes(dataDir: string, count: number, base: number): GaleraNode[] {
  return Array.from({ length: count }, (_, i) => {
    const first = base + PORTS_PER_NODE * i;
    return { id: i + 1, host: '127.0.0.1', port: first, gcommPort: first + 1, istPort: first + 2, sstPort: first + 3, paths: galeraNodePaths(dataDir, i + 1) };
  });
}

export interface NodeSettings {
  clusterName: string;
  provider: string;
  bufferPool: string;
}

/**
 * The node's my.cnf, written on every start. A file, not flags: the state-transfer scripts read
 * the server's options from it ([mysqld], [sst]), and mariabackup refuses some server flags that
 * reach it from a command line (innodb-buffer-pool-size).
 */
export function writeNodeConfig(node: GaleraNode, all: GaleraNode[], settings: NodeSettings): void {
  const p = node.paths;
  fs.mkdirSync(p.data, { recursive: true });
  const providerOptions = [
    `gmcast.listen_addr=tcp://${node.host}:${node.gcommPort}`,
    `ist.recv_addr=${node.host}:${node.istPort}`,
    // A restarted node catches up by IST from a peer's cache of recent writes instead of copying
    // everything; recover keeps that cache usable after a kill -9.
    'gcache.size=128M',
    'gcache.recover=yes',
  ].join(';');
  const lines = [
    '# Written by `sts up` on every start; edit infra/galera-node.ts instead.',
    '[mysqld]',
    `datadir=${p.data}`,
    `socket=${p.socket}`,
    `port=${node.port}`,
    `bind-address=${node.host}`,
    `log-error=${p.log}`,
    'user=root',
    'max-connections=500',
    `innodb-buffer-pool-size=${settings.bufferPool}`,
    `innodb-log-file-size=${redoLogFor(settings.bufferPool)}`,
    // Galera replicates row images of InnoDB tables, and needs interleaved auto-increment locks.
    'binlog-format=ROW',
    'default-storage-engine=InnoDB',
    'innodb-autoinc-lock-mode=2',
    // A commit is durable once certified by the cluster; a node that crashes alone catches up by
    // state transfer, so its own log need not reach the disk at every commit.
    'innodb-flush-log-at-trx-commit=2',
    'wsrep-on=ON',
    `wsrep-provider=${settings.provider}`,
    `wsrep-cluster-name=${settings.clusterName}`,
    `wsrep-cluster-address=gcomm://${all.map((n) => `${n.host}:${n.gcommPort}`).join(',')}`,
    `wsrep-node-name=node-${node.id}`,
    `wsrep-node-address=${node.host}:${node.gcommPort}`,
    `wsrep-node-incoming-address=${node.host}:${node.port}`,
    `wsrep-provider-options="${providerOptions}"`,
    // mariabackup, not rsync: rsync's daemon drops to `nobody` when the server runs as root and
    // cannot write our data directory; and a mariabackup donor keeps taking writes meanwhile.
    'wsrep-sst-method=mariabackup',
    'wsrep-sst-auth=root:',
    `wsrep-sst-receive-address=${node.host}:${node.sstPort}`,
    '[sst]',
    // Otherwise every transfer's log is archived under /tmp/sst_log_archive, shared by all stacks.
    'sst-log-archive=0',
    '',
  ];
  fs.writeFileSync(p.config, lines.join('\n'));
}

/** True once the node holds a database: initialised by install-db or received by state transfer. */
export function hasData(node: GaleraNode): boolean {
  return fs.existsSync(path.join(node.paths.data, 'mysql'));
}

/** A fresh data directory for the node that bootstraps a new cluster. */
export function installData(node: GaleraNode, installer: string): void {
  // --no-defaults first: the machine's my.cnf names its own user and datadir, which would win.
  const res = runSync(installer, ['--no-defaults', `--datadir=${node.paths.data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], 120_000);
  if (res.status !== 0) throw new StartupFailedError('MariaDB Galera', `node ${node.id}: install-db failed: ${lastLine(res.stderr)}`, node.paths.log);
}

export interface SavedState {
  uuid: string;
  /** -1 after a crash or kill: the position is then in InnoDB, read by recoverPosition. */
  seqno: number;
  safeToBootstrap: boolean;
}

/** grastate.dat: the cluster state the node last saved, and whether it left the cluster last. */
export function savedState(node: GaleraNode): SavedState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(node.paths.data, 'grastate.dat'), 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  return { uuid: field('uuid') ?? '', seqno: Number(field('seqno') ?? -1), safeToBootstrap: field('safe_to_bootstrap') === '1' };
}

/** What the last node standing does on a clean stop; done by hand when every node crashed. */
export function markSafeToBootstrap(node: GaleraNode): void {
  const file = path.join(node.paths.data, 'grastate.dat');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^safe_to_bootstrap:.*$/m, 'safe_to_bootstrap: 1'));
}

/**
 * The last transaction the node committed, read from InnoDB with `mariadbd --wsrep-recover` (what
 * Debian's galera_recovery does). A node killed mid-run saves seqno -1; given this position it
 * rejoins by IST from a peer's cache instead of a full copy. Undefined when there is none.
 */
export function recoverPosition(node: GaleraNode, daemon: string): { uuid: string; seqno: number } | undefined {
  fs.rmSync(node.paths.recoverLog, { force: true });
  const res = runSync(daemon, [`--defaults-file=${node.paths.config}`, '--wsrep-recover', `--log-error=${node.paths.recoverLog}`], 120_000);
  let log = '';
  try {
    log = fs.readFileSync(node.paths.recoverLog, 'utf8');
  } catch {
    /* the daemon did not get as far as its log */
  }
  const m = /WSREP: Recovered position: ([0-9a-f-]{36}):(-?\d+)/.exec(log);
  if (!m) {
    if (res.status !== 0) throw new StartupFailedError('MariaDB Galera', `node ${node.id}: --wsrep-recover failed: ${lastLine(log || res.stderr)}`, node.paths.recoverLog);
    return undefined;
  }
  const seqno = Number(m[2]);
  return seqno < 0 ? undefined : { uuid: m[1]!, seqno };
}

/** Starts the node's mariadbd; `args` after the config (--wsrep-new-cluster, a start position). */
export function startNode(node: GaleraNode, daemon: string, args: readonly string[]): number {
  return spawnDetached({ command: daemon, args: [`--defaults-file=${node.paths.config}`, ...args], logFile: `${node.paths.log}.out`, pidFile: node.paths.pid });
}

export interface NodeReport {
  state: 'up' | 'down';
  version?: string;
  latencyMs?: number;
  /** wsrep_local_state_comment: Synced, Donor/Desynced, Joining, Joined, Initialized. */
  localState?: string;
  /** True when Synced (wsrep_local_state 4) in a primary component that accepts queries. */
  synced?: boolean;
  clusterSize?: number;
  /** wsrep_cluster_status: Primary, or non-Primary when this node lost the majority. */
  clusterStatus?: string;
  /** The nodes' own name for itself (wsrep_node_name). */
  name?: string;
  detail?: string;
}

/** Asks the node itself, on its own SQL port, how it stands in the cluster. */
export async function probeNode(node: GaleraNode, credentials: { user: string; password: string }): Promise<NodeReport> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ host: node.host, port: node.port, ...credentials, connectTimeout: 2000 });
    const started = process.hrtime.bigint();
    const [versionRows] = (await conn.query('SELECT VERSION() AS v, @@wsrep_node_name AS name')) as unknown as [Array<{ v: string; name: string }>];
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const [rows] = (await conn.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_ready')",
    )) as unknown as [Array<{ Variable_name: string; Value: string }>];
    const status = Object.fromEntries(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
    const synced = status.wsrep_local_state === '4' && status.wsrep_ready === 'ON' && status.wsrep_cluster_status === 'Primary';
    return {
      state: 'up',
      version: versionRows[0]?.v,
      name: versionRows[0]?.name,
      latencyMs,
      localState: status.wsrep_local_state_comment,
      synced,
      clusterSize: Number(status.wsrep_cluster_size ?? 0),
      clusterStatus: status.wsrep_cluster_status,
    };
  } catch (err) {
    return { state: 'down', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';
