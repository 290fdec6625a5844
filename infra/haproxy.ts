import fs from 'node:fs';
import net from 'node:net';
import { PortInUseError, PrerequisiteMissingError, StartupFailedError } from './stack-errors';
import type { ComponentStatus } from './component';
import { galeraCheckRules } from './galera-health-check';
import type { GaleraNode } from './galera-node';
import { galeraPaths } from './paths';
import { isPortOpen, waitFor } from './ports';
import { livePid, runSync, spawnDetached, stopProcess, tail, which } from './process-control';

/**
 * HAProxy in front of a local Galera cluster: one listener that sends every connection to one
 * node at a time. Node 1 is the active server and the others are backups, used one at a time in
 * order, so all writes certify on one node and two transactions on two nodes never conflict.
 * A node that is down or not Synced fails its check (infra/galera-health-check.ts) and the next
 * one takes the writes; its open sessions are cut, so no client keeps writing to it. When node 1
 * is Synced again, the backups' sessions are cut and the writes move back to it.
 *
 * The config is written under STS_DATA_DIR/galera/haproxy on every start; a stats socket beside
 * it tells `sts status` where the writes go.
 *
 * Failure codes: STS_PREREQUISITE_MISSING, STS_PORT_IN_USE, STS_STARTUP_FAILED.
 */

export function haproxyBinary(): string | undefined {
  return which('haproxy');
}

export function haproxyConfig(dataDir: string, port: number, nodes: GaleraNode[]): string {
  const p = galeraPaths(dataDir).haproxy;
  return [
    '# Written by `sts up` on every start; edit infra/haproxy.ts instead.',
    'global',
    '  maxconn 4000',
    `  stats socket ${p.socket} mode 600 level user`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    // Pooled connections sit idle for long; the server's own wait_timeout (8 h) decides.
    '  timeout client 8h',
    '  timeout server 8h',
    '  timeout check 1s',
    'listen mysql',
    `  bind 127.0.0.1:${port}`,
    '  option tcp-check',
    ...galeraCheckRules().map((r) => `  ${r}`),
    // Checked every 500 ms: a dead or desynced node is out after two failures, about a second;
    // back after three passes, so a node still settling does not take the writes at once. Any node
    // marked up cuts the backups' sessions: new connections go to the first node up in order, and
    // older ones left on a later backup would make a second writer.
    '  default-server inter 500 fastinter 250 downinter 1s fall 2 rise 3 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions',
    ...nodes.map((n, i) => `  server node-${n.id} ${n.host}:${n.port} check${i === 0 ? '' : ' backup'}`),
    '',
  ].join('\n');
}

/** Starts HAProxy with a fresh config, or restarts it when the config changed. */
export async function haproxyUp(dataDir: string, port: number, nodes: GaleraNode[]): Promise<number> {
  const binary = haproxyBinary();
  if (!binary) throw new PrerequisiteMissingError('HAProxy', 'node bin/ensure-deps.js --db-cluster (as root), or apt-get install haproxy');
  const p = galeraPaths(dataDir).haproxy;
  fs.mkdirSync(p.root, { recursive: true });
  const config = haproxyConfig(dataDir, port, nodes);
  const running = livePid(p.pid);
  if (running !== undefined && fs.existsSync(p.config) && fs.readFileSync(p.config, 'utf8') === config) return running;
  if (running !== undefined) await stopProcess(p.pid, 10_000);
  if (await isPortOpen('127.0.0.1', port, 500)) {
    throw new PortInUseError('HAProxy (Galera front)', port, `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}'), or set STS_MYSQL_PROXY_PORT to a free port`);
  }
  fs.writeFileSync(p.config, config);
  const check = runSync(binary, ['-c', '-q', '-f', p.config], 10_000);
  if (check.status !== 0) throw new StartupFailedError('HAProxy', `invalid config: ${(check.stderr || check.stdout).trim().split('\n').pop()}`, p.config);
  // -db: in the foreground, so the pid file names HAProxy itself and its alerts reach the log.
  const pid = spawnDetached({ command: binary, args: ['-db', '-f', p.config], logFile: p.log, pidFile: p.pid });
  const ready = await waitFor(async () => ((await isPortOpen('127.0.0.1', port, 300)) ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 100,
    abort: () => (livePid(p.pid) === undefined ? 'haproxy exited' : undefined),
  });
  if (!ready.value) throw new StartupFailedError('HAProxy', `${ready.aborted ?? 'not listening in 10s'}: ${tail(p.log, 2)}`, p.log);
  return pid;
}

export async function haproxyDown(dataDir: string): Promise<boolean> {
  return stopProcess(galeraPaths(dataDir).haproxy.pid, 10_000);
}

export interface BackendServer {
  name: string;
  up: boolean;
  backup: boolean;
}

/**
 * The listener's servers as HAProxy sees them (`show stat` on the stats socket), and the one it
 * sends new connections to: the active server when up, else the first backup that is up.
 */
export async function haproxyRouting(dataDir: string): Promise<{ servers: BackendServer[]; routesTo?: string }> {
  const csv = await statsCommand(galeraPaths(dataDir).haproxy.socket, 'show stat');
  const [header, ...rows] = csv.split('\n').filter((l) => l.trim() !== '');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const at = (row: string[], name: string) => row[columns.indexOf(name)] ?? '';
  const servers = rows
    .map((line) => line.split(','))
    .filter((row) => at(row, 'pxname') === 'mysql' && !['FRONTEND', 'BACKEND'].includes(at(row, 'svname')))
    // "UP 1/2" is up and failing; "DOWN 1/3" is down and recovering.
    .map((row) => ({ name: at(row, 'svname'), up: at(row, 'status').startsWith('UP'), backup: at(row, 'bck') === '1' }));
  const routesTo = (servers.find((s) => s.up && !s.backup) ?? servers.find((s) => s.up && s.backup))?.name;
  return { servers, routesTo };
}

export async function haproxyStatus(dataDir: string, port: number): Promise<ComponentStatus> {
  const pid = livePid(galeraPaths(dataDir).haproxy.pid);
  const base = { name: 'haproxy', address: `127.0.0.1:${port}`, managed: pid !== undefined, pid, version: haproxyVersion() };
  if (!(await isPortOpen('127.0.0.1', port, 1000))) return { ...base, state: 'down', detail: `nothing listens on ${port}` };
  try {
    const started = process.hrtime.bigint();
    const { servers, routesTo } = await haproxyRouting(dataDir);
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const down = servers.filter((s) => !s.up).map((s) => s.name);
    const detail = `${routesTo ? `writes go to ${routesTo}` : 'no node is up: connections are refused'}${down.length ? `; down: ${down.join(', ')}` : ''}`;
    return { ...base, state: 'up', latencyMs, detail };
  } catch (err) {
    return { ...base, state: 'up', detail: `stats socket unreadable: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function haproxyVersion(): string | undefined {
  const binary = haproxyBinary();
  if (!binary) return undefined;
  return /version (\S+)/i.exec(runSync(binary, ['-v'], 5000).stdout ?? '')?.[1];
}

/** One command on HAProxy's stats socket; HAProxy answers and closes. */
function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const conn = net.connect(socket);
    conn.setTimeout(2000, () => conn.destroy(new Error('stats socket timed out')));
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (d: Buffer) => (out += d.toString('utf8')));
    conn.on('end', () => resolve(out));
    conn.on('error', reject);
  });
}
