import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StsConfig } from '../runtime/config';
import { PortInUseError, ServiceUnavailableError, StartupFailedError } from '../runtime/errors';
import { probeKafka } from '../runtime/kafka/client';
import type { ComponentStatus, Reporter } from './component';
import { findJava } from './java';
import { fetchWithMaven } from './maven';
import { stackPaths } from './paths';
import { isPortOpen, parseHostPort, waitFor } from './ports';
import { livePid, runSync, spawnDetached, stopProcess, tail } from './process-control';

/**
 * A single-node Apache Kafka 3.9 broker in KRaft mode (broker and controller in one JVM), run
 * from the jars Maven copies into STS_DATA_DIR/kafka/libs.
 *
 * Failure codes: STS_PORT_IN_USE, STS_ARTIFACT_UNAVAILABLE, STS_PREREQUISITE_MISSING (java, mvn),
 * STS_STARTUP_FAILED (the JVM exited or never answered a metadata request).
 */

const POM = path.resolve(__dirname, 'kafka', 'pom.xml');
const CONTROLLER_PORT = Number(process.env.STS_KAFKA_CONTROLLER_PORT ?? 9093);
const READY_TIMEOUT_MS = 60_000;

/** The broker is ours to run only when the configured bootstrap is one loopback address. */
export function isLocalKafka(config: StsConfig): boolean {
  if (config.kafkaBrokers.length !== 1) return false;
  const { host } = parseHostPort(config.kafkaBrokers[0]!);
  return host === '127.0.0.1' || host === 'localhost';
}

export async function kafkaUp(config: StsConfig, report: Reporter): Promise<ComponentStatus> {
  const p = stackPaths(config.dataDir).kafka;
  const existing = await kafkaStatus(config);
  if (existing.state === 'up') return existing;
  if (!isLocalKafka(config)) {
    throw new ServiceUnavailableError('Kafka', config.kafkaBrokers.join(','), undefined, 'start that cluster, or unset STS_KAFKA_BROKERS to use the local broker');
  }

  const { host, port } = parseHostPort(config.kafkaBrokers[0]!);
  for (const [what, prt] of [['Kafka listener', port], ['Kafka controller', CONTROLLER_PORT]] as const) {
    if (await isPortOpen(host, prt)) {
      throw new PortInUseError(what, prt, `stop whatever listens on ${prt} (ss -ltnp 'sport = :${prt}'), or set STS_KAFKA_BROKERS to an existing cluster`);
    }
  }

  const java = findJava();
  report('kafka: fetching jars with Maven (first run only)…');
  const { fetched } = await fetchWithMaven({ label: 'Apache Kafka 3.9.1', pom: POM, outputDir: p.libs });
  if (fetched) report('kafka: jars ready');

  writeConfig(config, host, port);
  const classpath = `${p.libs}/*`;
  if (!fs.existsSync(path.join(p.data, 'meta.properties'))) {
    // KRaft storage is formatted exactly once; a second format would orphan the existing logs.
    const clusterId = base64UrlUuid();
    const res = runSync(java, ['-cp', classpath, `-Dlog4j.configuration=file:${p.log4j}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.config], 60_000);
    if (res.status !== 0) {
      throw new StartupFailedError('Kafka', `storage format failed: ${(res.stderr || res.stdout).trim().split('\n').pop()}`, p.log);
    }
  }

  const pid = spawnDetached({
    command: java,
    args: [
      '-Xms256m',
      `-Xmx${process.env.STS_KAFKA_HEAP ?? '1g'}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${p.log4j}`,
      `-Dkafka.logs.dir=${p.root}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      p.config,
    ],
    logFile: p.log,
    pidFile: p.pid,
  });
  report(`kafka: started pid ${pid}, waiting for metadata…`);

  const started = Date.now();
  const ready = await waitFor(() => probeKafka(config.kafkaBrokers, 2000), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 300,
    abort: () => (livePid(p.pid) === undefined ? 'the broker process exited' : undefined),
  });
  if (!ready.value) {
    await stopProcess(p.pid, 5000);
    // A JVM that exits early (bad flag, port race) says why on stdout; a broker that runs but
    // never answers says why in server.log.
    const log = ready.aborted ? p.log : path.join(p.root, 'server.log');
    const why = ready.aborted ?? `no metadata response within ${READY_TIMEOUT_MS / 1000}s`;
    throw new StartupFailedError('Kafka', `${why}: ${oneLine(tail(log, 2))}`, log);
  }
  report(`kafka: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return kafkaStatus(config);
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

export async function kafkaDown(config: StsConfig): Promise<boolean> {
  return stopProcess(stackPaths(config.dataDir).kafka.pid, 60_000);
}

export async function kafkaStatus(config: StsConfig): Promise<ComponentStatus> {
  const p = stackPaths(config.dataDir).kafka;
  const pid = livePid(p.pid);
  const base = { name: 'kafka', address: config.kafkaBrokers.join(','), managed: pid !== undefined, pid };
  try {
    const probe = await probeKafka(config.kafkaBrokers, 3000);
    const version = localKafkaVersion(p.libs) ?? adoptedKafkaVersion(config);
    return { ...base, state: 'up', version, latencyMs: round(probe.latencyMs), detail: `${probe.brokers} broker(s)` };
  } catch (err) {
    return { ...base, state: 'down', detail: err instanceof Error ? err.message : String(err) };
  }
}

function writeConfig(config: StsConfig, host: string, port: number) {
  const p = stackPaths(config.dataDir).kafka;
  fs.mkdirSync(path.dirname(p.config), { recursive: true });
  fs.mkdirSync(p.data, { recursive: true });
  const props = [
    '# Written by `sts up` on every start; edit infra/kafka-broker.ts instead.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${p.data}`,
    // Topics come from topologies/ only; a typo in a topic name must fail, not create a topic.
    'auto.create.topics.enable=false',
    'num.partitions=12',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=12',
    // A single-node dev broker: no reason to delay the first rebalance.
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
