import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StsConfig } from '../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from './stack-errors';
import { probeKafka } from '../runtime/kafka/client';
import type { ComponentStatus, Reporter } from './component';
import { findJava } from './java';
import { fetchWithMaven } from './maven';
import { kafkaNodePaths, stackPaths } from './paths';
import { isPortOpen, parseHostPort, waitFor } from './ports';
import { livePid, runSync, spawnDetached, stopProcess, tail } from './process-control';

/**
 * Apache Kafka 3.9 in KRaft mode, run from the jars Maven copies into STS_DATA_DIR/kafka/libs:
 * one node by default, or STS_KAFKA_NODES combined broker-controller nodes on loopback forming one
 * quorum (node n listens two ports above node n-1, its controller likewise), each with its own
 * data directory, configuration, log and pid file (infra/paths.ts, kafkaNodePaths). All nodes
 * share one cluster id, kept in kafka/cluster.id, so a node added later joins the same cluster.
 *
 * Failure codes: STS_PORT_IN_USE, STS_ARTIFACT_UNAVAILABLE, STS_PREREQUISITE_MISSING (java, mvn),
 * STS_STARTUP_FAILED (the JVM exited or never answered a metadata request).
 */

const POM = path.resolve(__dirname, 'kafka', 'pom.xml');
/** The first node's controller port; read at each start, so one process can run several stacks. */
const controllerPort = () => Number(process.env.STS_KAFKA_CONTROLLER_PORT ?? 9093);
const READY_TIMEOUT_MS = 60_000;

/** The brokers are ours to run only when the bootstrap names our own loopback node(s). */
export function isLocalKafka(config: StsConfig): boolean {
  if (config.kafkaBrokers.length !== config.kafkaNodes) return false;
  const { host } = parseHostPort(config.kafkaBrokers[0]!);
  return host === '127.0.0.1' || host === 'localhost';
}

interface KafkaNode {
  id: number;
  host: string;
  port: number;
  controllerPort: number;
  paths: ReturnType<typeof kafkaNodePaths>;
}

/** The local nodes, from the bootstrap list (config.ts spreads it over the nodes). */
function localNodes(config: StsConfig): KafkaNode[] {
  return config.kafkaBrokers.map((b, i) => {
    const { host, port } = parseHostPort(b);
    return { id: i + 1, host, port, controllerPort: controllerPort() + 2 * i, paths: kafkaNodePaths(config.dataDir, i + 1) };
  });
}

export async function kafkaUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const existing = await kafkaStatus(config);
  // The metadata's broker count is not enough: a node killed a moment ago stays registered until
  // its broker session times out, so each local node's own listener must answer too.
  const silent = isLocalKafka(config) ? await asyncFilter(localNodes(config), async (n) => !(await isPortOpen(n.host, n.port, 500))) : [];
  if (existing.state === 'up' && existing.brokers === config.kafkaNodes && silent.length === 0) return existing;
  if (!isLocalKafka(config)) {
    throw new ServiceUnavailableError('Kafka', config.kafkaBrokers.join(','), undefined, 'start that cluster, or unset STS_KAFKA_BROKERS to use the local broker');
  }
  const nodes = localNodes(config);
  const toStart = nodes.filter((n) => livePid(n.paths.pid) === undefined);
  for (const n of toStart)
    for (const [what, prt] of [[`Kafka node ${n.id} listener`, n.port], [`Kafka node ${n.id} controller`, n.controllerPort]] as const) {
      if (await isPortOpen(n.host, prt)) {
        throw new PortInUseError(what, prt, `stop whatever listens on ${prt} (ss -ltnp 'sport = :${prt}'), or set STS_KAFKA_BROKERS to an existing cluster`);
      }
    }

  const java = findJava();
  const libs = stackPaths(config.dataDir).kafka.libs;
  report('kafka: fetching jars with Maven (first run only)…');
  const { fetched } = await fetchWithMaven({ label: 'Apache Kafka 3.9.1', pom: POM, outputDir: libs });
  if (fetched) report('kafka: jars ready');

  const clusterId = clusterIdOf(config.dataDir);
  for (const n of toStart) {
    writeConfig(n, nodes);
    if (!fs.existsSync(path.join(n.paths.data, 'meta.properties'))) {
      // KRaft storage is formatted exactly once; a second format would orphan the existing logs.
      const res = runSync(java, ['-cp', `${libs}/*`, `-Dlog4j.configuration=file:${n.paths.log4j}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', n.paths.config], 60_000);
      if (res.status !== 0) {
        throw new StartupFailedError('Kafka', `node ${n.id}: storage format failed: ${(res.stderr || res.stdout).trim().split('\n').pop()}`, n.paths.log);
      }
    }
  }
  for (const n of toStart) {
    const pid = spawnDetached({
      command: java,
      args: [
        '-Xms256m',
        `-Xmx${process.env.STS_KAFKA_HEAP ?? '1g'}`,
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${n.paths.log4j}`,
        `-Dkafka.logs.dir=${n.paths.root}`,
        '-cp',
        `${libs}/*`,
        'kafka.Kafka',
        n.paths.config,
      ],
      logFile: n.paths.log,
      pidFile: n.paths.pid,
    });
    report(`kafka: started node ${n.id}, pid ${pid}, waiting for metadata…`);
  }

  const started = Date.now();
  // Ready when every node answers on its own listener and lists every node: topics created next
  // get all their replicas whichever node the admin asks (each node's view of the registrations
  // catches up on its own), and a restarted node that is still listed from before it died does
  // not count until it answers itself.
  // Three polls in a row, since the broker that answers a probe is any broker of the cluster.
  const listsAll = async (n: KafkaNode) => (await probeKafka([`${n.host}:${n.port}`], 2000)).brokers >= nodes.length;
  let agreeing = 0;
  const ready = await waitFor(async () => ((agreeing = (await Promise.all(nodes.map(listsAll))).every(Boolean) ? agreeing + 1 : 0) >= 3 ? true : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 300,
    abort: () => toStart.map((n) => (livePid(n.paths.pid) === undefined ? `node ${n.id} exited` : undefined)).find(Boolean),
  });
  if (!ready.value) {
    for (const n of toStart) await stopProcess(n.paths.pid, 5000);
    // A JVM that exits early (bad flag, port race) says why on stdout; a broker that runs but
    // never answers says why in server.log.
    const n = toStart.find((x) => ready.aborted?.startsWith(`node ${x.id} `)) ?? toStart[0] ?? nodes[0]!;
    // A JVM that exits on a bind error says so in server.log only: then that log is the one.
    const serverLog = path.join(n.paths.root, 'server.log');
    const log = ready.aborted && oneLine(tail(n.paths.log, 2)) !== '' ? n.paths.log : serverLog;
    const why = ready.aborted ?? `no metadata response from ${nodes.length} broker(s) within ${READY_TIMEOUT_MS / 1000}s`;
    throw new StartupFailedError('Kafka', `${why}: ${oneLine(tail(log, 2))}`, log);
  }
  report(`kafka: ready in ${((Date.now() - started) / 1000).toFixed(1)}s${nodes.length > 1 ? ` (${nodes.length} nodes)` : ''}`);
  return kafkaStatus(config);
}

/** The cluster id every node is formatted with: kept once chosen, or read from node 1's storage. */
function clusterIdOf(dataDir: string): string {
  const file = path.join(stackPaths(dataDir).kafka.root, 'cluster.id');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  let id: string | undefined;
  try {
    const meta = fs.readFileSync(path.join(kafkaNodePaths(dataDir, 1).data, 'meta.properties'), 'utf8');
    id = /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim();
  } catch {
    /* no node formatted yet */
  }
  id ??= base64UrlUuid();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * The Kafka jars under STS_DATA_DIR/kafka/libs, fetched with Maven when missing: the broker runs
 * from them, and so do Kafka's own tools (ConsumerPerformance, ProducerPerformance) when a
 * benchmark runs beside a broker this data directory did not start.
 */
export async function ensureKafkaJars(dataDir: string): Promise<string> {
  const libs = stackPaths(dataDir).kafka.libs;
  await fetchWithMaven({ label: 'Apache Kafka 3.9.1', pom: POM, outputDir: libs });
  return libs;
}

/** Stops every node this data directory started (up to five), all at once. */
export async function kafkaDown(config: StsConfig): Promise<boolean> {
  const stopped = await Promise.all(Array.from({ length: 5 }, (_, i) => stopProcess(kafkaNodePaths(config.dataDir, i + 1).pid, 60_000)));
  return stopped.some(Boolean);
}

export async function kafkaStatus(config: StsConfig): Promise<ComponentStatus & { brokers?: number }> {
  const p = stackPaths(config.dataDir).kafka;
  const pid = livePid(p.pid);
  const base = { name: 'kafka', address: config.kafkaBrokers.join(','), managed: pid !== undefined, pid };
  try {
    const probe = await probeKafka(config.kafkaBrokers, 3000);
    const version = localKafkaVersion(p.libs) ?? adoptedKafkaVersion(config);
    return { ...base, state: 'up', version, latencyMs: round(probe.latencyMs), brokers: probe.brokers, detail: `${probe.brokers} broker(s)` };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * `sts status` for a local cluster of several nodes: each node as its own line (is it up, does it
 * answer a metadata request on its own address), then the quorum's leader and voters as Kafka's
 * MetadataQuorumCommand reports them. A single node reports as `kafka` alone, as ever.
 */
export async function kafkaStatuses(config: StsConfig): Promise<ComponentStatus[]> {
  const cluster = await kafkaStatus(config);
  if (config.kafkaNodes <= 1 || !isLocalKafka(config)) return [cluster];
  const nodes = await Promise.all(
    localNodes(config).map(async (n): Promise<ComponentStatus> => {
      const pid = livePid(n.paths.pid);
      const base = { name: `kafka-node-${n.id}`, address: `${n.host}:${n.port}`, managed: pid !== undefined, pid };
      try {
        const probe = await probeKafka([`${n.host}:${n.port}`], 2000);
        return { ...base, state: 'up', latencyMs: round(probe.latencyMs) };
      } catch (err) {
        return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  // Counted from the nodes' own answers: one broker's metadata can lag a node that just joined.
  const up = nodes.filter((n) => n.state === 'up').length;
  return [{ ...cluster, detail: `${up} of ${nodes.length} nodes up; quorum: ${cluster.state === 'up' ? quorumOf(config) : 'unknown'}` }, ...nodes];
}

/** "leader 2, voters 1,2,3" from MetadataQuorumCommand, or why it could not say. */
function quorumOf(config: StsConfig): string {
  const q = kafkaQuorum(config);
  return q.leader !== undefined ? `leader ${q.leader}, voters ${q.voters.join(',') || '?'}` : `not reported (${q.error})`;
}

/**
 * The KRaft quorum as its controllers report it (MetadataQuorumCommand): the active controller's
 * node id and the voters' ids, or why they could not be read. A JVM start, about two seconds.
 */
export function kafkaQuorum(config: StsConfig): { leader?: number; voters: number[]; error?: string } {
  try {
    const java = findJava();
    const libs = stackPaths(config.dataDir).kafka.libs;
    const res = runSync(java, ['-cp', `${libs}/*`, 'org.apache.kafka.tools.MetadataQuorumCommand', '--bootstrap-server', config.kafkaBrokers.join(','), 'describe', '--status'], 20_000);
    const out = res.stdout ?? '';
    const leader = /LeaderId:\s*(\d+)/.exec(out)?.[1];
    // 3.9 prints the voters as JSON objects ({"id": 1, ...}); only their ids matter here.
    const votersLine = /CurrentVoters:(.*)/.exec(out)?.[1] ?? '';
    const voters = (votersLine.includes('"id"') ? [...votersLine.matchAll(/"id":\s*(\d+)/g)].map((m) => m[1]!) : (votersLine.match(/\d+/g) ?? [])).map(Number);
    return leader ? { leader: Number(leader), voters } : { voters, error: oneLine(res.stderr || out) || 'no output' };
  } catch (err) {
    return { voters: [], error: err instanceof Error ? err.message : String(err) };
  }
}

function writeConfig(node: KafkaNode, all: KafkaNode[]) {
  const p = node.paths;
  fs.mkdirSync(path.dirname(p.config), { recursive: true });
  fs.mkdirSync(p.data, { recursive: true });
  // Internal topics replicated like the pipeline's: three copies where there are three nodes.
  const rf = Math.min(3, all.length);
  const props = [
    '# Written by `sts up` on every start; edit infra/kafka-broker.ts instead.',
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${all.map((n) => `${n.id}@${n.host}:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${node.host}:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${p.data}`,
    // Topics come from topologies/ only; a typo in a topic name must fail, not create a topic.
    'auto.create.topics.enable=false',
    'num.partitions=12',
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=12',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${rf >= 3 ? 2 : 1}`,
    'transaction.state.log.num.partitions=12',
    // A dev cluster: no reason to delay the first rebalance.
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    '',
  ].join('\n');
  fs.writeFileSync(p.config, props);
  fs.writeFileSync(
    p.log4j,
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.RollingFileAppender',
      `log4j.appender.file.File=${path.join(p.root, 'server.log')}`,
      'log4j.appender.file.MaxFileSize=20MB',
      'log4j.appender.file.MaxBackupIndex=3',
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.state.change.logger=WARN',
      '',
    ].join('\n'),
  );
}

function localKafkaVersion(libs: string): string | undefined {
  try {
    const jar = fs.readdirSync(libs).find((f) => /^kafka_2\.13-[\d.]+\.jar$/.test(f));
    return jar?.replace(/^kafka_2\.13-/, '').replace(/\.jar$/, '');
  } catch {
    return undefined;
  }
}

/**
 * Version of a local broker this stack adopted rather than started (another checkout's, say):
 * the jar on the classpath of the process listening on the port. Kafka's protocol does not
 * report its release, so this is the honest source when the process is on this machine.
 */
function adoptedKafkaVersion(config: StsConfig): string | undefined {
  if (!isLocalKafka(config)) return undefined;
  const { port } = parseHostPort(config.kafkaBrokers[0]!);
  const ss = runSync('ss', ['-Hltnp', `sport = :${port}`], 3000);
  const pid = /pid=(\d+)/.exec(ss.stdout ?? '')?.[1];
  if (!pid) return undefined;
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const cp = args[args.indexOf('-cp') + 1] ?? '';
    for (const entry of cp.split(':')) {
      const version = localKafkaVersion(entry.replace(/\/\*$/, ''));
      if (version) return version;
    }
  } catch {
    /* not ours to read */
  }
  return undefined;
}

/**
 * A KRaft cluster id: a random UUID as 22 characters of unpadded base64url, never starting with
 * '-'. kafka-storage reads an id that starts with '-' as an option ("argument --cluster-id/-t:
 * expected one argument"), which failed one start in 64 (a CI run's chaos stack); Kafka's own
 * Uuid.randomUuid() redraws such ids for the same reason.
 */
export function base64UrlUuid(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);
const round = (ms: number) => Math.round(ms * 10) / 10;

async function asyncFilter<T>(items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept = await Promise.all(items.map(keep));
  return items.filter((_, i) => kept[i]);
}
