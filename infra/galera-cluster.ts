import crypto from 'node:crypto';
import fs from 'node:fs';
import mysql from 'mysql2/promise';
import { databaseName, type StsConfig } from '../runtime/config';
import { ConfigError } from '../runtime/errors';
import { PortInUseError, PrerequisiteMissingError, StartupFailedError } from './stack-errors';
import type { ComponentStatus, Reporter } from './component';
import { checkUserStatements } from './galera-health-check';
import {
  galeraNodes,
  galeraProvider,
  hasData,
  installData,
  markSafeToBootstrap,
  PORTS_PER_NODE,
  probeNode,
  recoverPosition,
  savedState,
  startNode,
  writeNodeConfig,
  type GaleraNode,
  type NodeReport,
} from './galera-node';
import { haproxyBinary, haproxyDown, haproxyStatus, haproxyUp } from './haproxy';
import { ensureDatabase, mysqlStatus } from './mysql-server';
import { galeraNodePaths, galeraPaths } from './paths';
import { freePortRun, isPortOpen, waitFor } from './ports';
import { livePid, stopProcess, tail, which } from './process-control';

/**
 * A local MariaDB Galera cluster of STS_MYSQL_NODES nodes behind HAProxy, for proving the
 * pipeline on a multi-node MySQL-compatible database. `sts up`:
 *
 * - when no node runs, bootstraps one with --wsrep-new-cluster: the node that left the cluster
 *   last (safe_to_bootstrap in its grastate.dat), else the one whose InnoDB is furthest ahead, or
 *   node 1 on a fresh install-db data directory;
 * - starts every other node as a joiner, which gets the data by state transfer (mariabackup) or,
 *   when it has data and the position it crashed at is still in a peer's cache, by IST;
 * - waits until every node is Synced, creates HAProxy's check user, and starts HAProxy
 *   (infra/haproxy.ts) on STS_MYSQL_PROXY_PORT, where config.mysqlUrl points.
 *
 * The nodes' ports are a run chosen with freePortRun on the first start and kept in
 * galera/ports.json, so a node restarts where its peers look for it.
 *
 * Failure codes: STS_PREREQUISITE_MISSING, STS_PORT_IN_USE, STS_CONFIG_INVALID (the node count
 * changed under a running cluster), STS_STARTUP_FAILED.
 */

const INSTALL_FIX = 'run `node bin/ensure-deps.js --db-cluster` as root, or apt-get install galera-4 haproxy mariadb-backup socat';
/** A full state transfer of a large database takes a while; a node that dies ends the wait early. */
const SYNC_TIMEOUT_MS = 600_000;
const MAX_NODES = 5;

export async function galeraUp(config: StsConfig, report: Reporter): Promise<ComponentStatus[]> {
  const daemon = which('mariadbd') ?? which('mysqld');
  if (!daemon) throw new PrerequisiteMissingError('MariaDB server', 'apt-get install mariadb-server, or unset STS_MYSQL_NODES and set STS_MYSQL_URL');
  const provider = galeraProvider();
  if (!provider) throw new PrerequisiteMissingError('The Galera provider (galera-4)', INSTALL_FIX);
  if (!haproxyBinary()) throw new PrerequisiteMissingError('HAProxy', INSTALL_FIX);
  if (!which('mariabackup') || !which('socat')) throw new PrerequisiteMissingError('mariabackup and socat (Galera state transfers)', INSTALL_FIX);

  const nodes = galeraNodes(config.dataDir, config.mysqlNodes, await portBase(config));
  const settings = { clusterName: `sts-${crypto.createHash('sha1').update(config.dataDir).digest('hex').slice(0, 8)}`, provider, bufferPool: config.mysqlBufferPool };
  for (const n of nodes) writeNodeConfig(n, nodes, settings);
  const running = nodes.filter((n) => livePid(n.paths.pid) !== undefined);
  const stopped = nodes.filter((n) => !running.includes(n));
  for (const n of stopped) await assertPortsFree(n);
  const credentials = credentialsOf(config.mysqlUrl);

  if (running.length === 0) {
    const { node, position } = bootstrapNode(nodes, daemon);
    if (!hasData(node)) {
      report(`galera: initialising node ${node.id}'s data directory…`);
      const installer = which('mariadb-install-db') ?? which('mysql_install_db');
      if (!installer) throw new PrerequisiteMissingError('mariadb-install-db', 'apt-get install mariadb-server');
      installData(node, installer);
    }
    startNode(node, daemon, ['--wsrep-new-cluster', ...startPosition(position)]);
    report(`galera: bootstrapping a new cluster from node ${node.id}…`);
    await waitSynced(node, credentials);
    running.push(node);
    stopped.splice(stopped.indexOf(node), 1);
  }
  for (const n of stopped) {
    const crashed = hasData(n) && (savedState(n)?.seqno ?? -1) < 0;
    startNode(n, daemon, crashed ? startPosition(recoverPosition(n, daemon)) : []);
    report(`galera: node ${n.id} joining (state transfer)…`);
  }
  // Joiners take their turn at a donor; the wait covers nodes found running but still joining.
  await Promise.all(nodes.map((n) => waitSynced(n, credentials)));
  await withNode(nodes[0]!, credentials, async (conn) => {
    for (const sql of checkUserStatements()) await conn.query(sql);
  });

  await haproxyUp(config.dataDir, proxyPort(config), nodes);
  // HAProxy passes a node after three good checks: until then it refuses connections.
  const proxied = await waitFor(async () => ((await mysqlStatus(config)).state === 'up' ? true : undefined), { timeoutMs: 20_000, intervalMs: 250 });
  if (!proxied.value) throw new StartupFailedError('HAProxy', `no Synced node reachable through 127.0.0.1:${proxyPort(config)}: ${tail(galeraPaths(config.dataDir).haproxy.log, 2)}`, galeraPaths(config.dataDir).haproxy.log);
  await ensureDatabase(config.mysqlUrl, databaseName(config.mysqlUrl));
  return galeraStatuses(config);
}

/**
 * Stops HAProxy, then the nodes one at a time: the last to leave records safe_to_bootstrap, so
 * the next `sts up` bootstraps from it without recovering positions.
 */
export async function galeraDown(config: StsConfig): Promise<string[]> {
  const stopped: string[] = [];
  if (await haproxyDown(config.dataDir)) stopped.push('haproxy');
  for (let id = MAX_NODES; id >= 1; id--) {
    if (await stopProcess(galeraNodePaths(config.dataDir, id).pid, 60_000)) stopped.push(`mysql-node-${id}`);
  }
  return stopped;
}

/**
 * `sts status` for the cluster: `mysql` is the database through HAProxy (what processes use),
 * with the cluster's size and where the writes go; then HAProxy; then each node as it reports
 * itself on its own port (wsrep_local_state_comment and wsrep_cluster_size).
 */
export async function galeraStatuses(config: StsConfig): Promise<ComponentStatus[]> {
  const base = readPorts(config.dataDir)?.base;
  const [front, proxy] = await Promise.all([mysqlStatus(config), haproxyStatus(config.dataDir, proxyPort(config))]);
  if (base === undefined) return [{ ...front, detail: 'no local Galera cluster yet: run `npx sts up`' }, proxy];
  const nodes = galeraNodes(config.dataDir, config.mysqlNodes, base);
  const reports = await Promise.all(nodes.map((n) => probeNode(n, credentialsOf(config.mysqlUrl))));
  const synced = reports.filter((r) => r.synced).length;
  const size = Math.max(0, ...reports.filter((r) => r.clusterStatus === 'Primary').map((r) => r.clusterSize ?? 0));
  const summary = `Galera: ${synced} of ${nodes.length} nodes Synced, cluster size ${size}; ${proxy.state === 'up' ? proxy.detail : 'HAProxy is down'}`;
  return [
    { ...front, managed: proxy.managed, pid: proxy.pid, detail: front.state === 'up' ? summary : `${front.detail}; ${summary}` },
    proxy,
    ...nodes.map((n, i) => nodeStatus(n, reports[i]!)),
  ];
}

function nodeStatus(node: GaleraNode, r: NodeReport): ComponentStatus {
  const pid = livePid(node.paths.pid);
  const base = { name: `mysql-node-${node.id}`, address: `${node.host}:${node.port}`, managed: pid !== undefined, pid };
  if (r.state === 'down') return { ...base, state: 'down', detail: pid === undefined ? r.detail : `starting or transferring state (${r.detail})` };
  const primary = r.clusterStatus === 'Primary' ? '' : ` (${r.clusterStatus ?? 'no component'})`;
  return { ...base, state: 'up', version: r.version, latencyMs: r.latencyMs, detail: `${r.localState}, cluster size ${r.clusterSize}${primary}` };
}

/**
 * The node to bootstrap from when none runs, and the position to start it at: the one that left
 * last, else the one furthest ahead (every node crashed; what an operator does by hand with
 * --wsrep-recover), else node 1 for a new cluster.
 */
function bootstrapNode(nodes: GaleraNode[], daemon: string): { node: GaleraNode; position?: { uuid: string; seqno: number } } {
  const withData = nodes.filter(hasData);
  if (withData.length === 0) return { node: nodes[0]! };
  const safe = withData.find((n) => savedState(n)?.safeToBootstrap);
  if (safe) return { node: safe, position: (savedState(safe)?.seqno ?? -1) < 0 ? recoverPosition(safe, daemon) : undefined };
  const positions = withData.map((n) => ({ node: n, position: recoverPosition(n, daemon) }));
  const best = positions.reduce((a, b) => ((b.position?.seqno ?? -1) > (a.position?.seqno ?? -1) ? b : a));
  if (savedState(best.node)) markSafeToBootstrap(best.node);
  return best;
}

const startPosition = (p: { uuid: string; seqno: number } | undefined) => (p ? [`--wsrep-start-position=${p.uuid}:${p.seqno}`] : []);

async function waitSynced(node: GaleraNode, credentials: Credentials): Promise<void> {
  const ready = await waitFor(async () => ((await probeNode(node, credentials)).synced ? true : undefined), {
    timeoutMs: SYNC_TIMEOUT_MS,
    intervalMs: 500,
    abort: () => (livePid(node.paths.pid) === undefined ? `node ${node.id} exited` : undefined),
  });
  if (!ready.value) {
    throw new StartupFailedError('MariaDB Galera', `${ready.aborted ?? `node ${node.id} not Synced in ${SYNC_TIMEOUT_MS / 1000}s`}: ${oneLine(tail(node.paths.log, 2))}`, node.paths.log);
  }
}

async function assertPortsFree(node: GaleraNode): Promise<void> {
  for (const [what, port] of [['SQL', node.port], ['group communication', node.gcommPort], ['IST', node.istPort], ['state transfer', node.sstPort]] as const) {
    if (await isPortOpen(node.host, port, 300)) {
      // With no node running, portBase already moved the whole cluster off taken ports.
      throw new PortInUseError(`Galera node ${node.id} ${what}`, port, `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or \`npx sts down\` and \`npx sts up\` again: a cluster started afresh takes new ports`);
    }
  }
}

interface SavedPorts {
  base: number;
  nodes: number;
}

function readPorts(dataDir: string): SavedPorts | undefined {
  try {
    return JSON.parse(fs.readFileSync(galeraPaths(dataDir).ports, 'utf8')) as SavedPorts;
  } catch {
    return undefined;
  }
}

/**
 * The first port of the cluster's run: the saved one while a node runs or the ports are still
 * free, else a new run (every node's config is rewritten at each start, so all move together).
 */
async function portBase(config: StsConfig): Promise<number> {
  const saved = readPorts(config.dataDir);
  const anyRunning = Array.from({ length: MAX_NODES }, (_, i) => livePid(galeraNodePaths(config.dataDir, i + 1).pid)).some((pid) => pid !== undefined);
  if (saved && anyRunning && saved.nodes !== config.mysqlNodes) {
    throw new ConfigError(`STS_MYSQL_NODES is ${config.mysqlNodes}, but the running Galera cluster has ${saved.nodes} nodes`, 'run `npx sts down` first, then `npx sts up` with the new STS_MYSQL_NODES');
  }
  if (saved && saved.nodes === config.mysqlNodes) {
    if (anyRunning) return saved.base;
    const ports = Array.from({ length: PORTS_PER_NODE * saved.nodes }, (_, i) => saved.base + i);
    if ((await Promise.all(ports.map((p) => isPortOpen('127.0.0.1', p, 200)))).every((open) => !open)) return saved.base;
  }
  const base = await freePortRun(PORTS_PER_NODE * config.mysqlNodes);
  fs.mkdirSync(galeraPaths(config.dataDir).root, { recursive: true });
  fs.writeFileSync(galeraPaths(config.dataDir).ports, `${JSON.stringify({ base, nodes: config.mysqlNodes })}\n`);
  return base;
}

const proxyPort = (config: StsConfig) => Number(new URL(config.mysqlUrl).port);

interface Credentials {
  user: string;
  password: string;
}

function credentialsOf(mysqlUrl: string): Credentials {
  const u = new URL(mysqlUrl);
  return { user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password) };
}

async function withNode(node: GaleraNode, credentials: Credentials, fn: (conn: mysql.Connection) => Promise<void>): Promise<void> {
  const conn = await mysql.createConnection({ host: node.host, port: node.port, ...credentials, connectTimeout: 5000 });
  try {
    await fn(conn);
  } finally {
    await conn.end();
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);
