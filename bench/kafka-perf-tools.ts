import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findJava } from '../infra/java';
import { ensureKafkaJars } from '../infra/kafka-broker';

/**
 * Kafka's own performance tools (org.apache.kafka.tools in kafka-tools-3.9.1.jar), run from the
 * broker's jars under STS_DATA_DIR/kafka/libs (fetched if this data directory has none, as when
 * the broker is one it adopted), the same classpath infra/kafka-broker.ts starts the broker with. They are the references the benchmarks stand beside: what Kafka's Java client
 * does with the same records on the same broker, in the same run.
 *
 * Inputs: the data directory (for the jars), a bootstrap broker, an existing topic (auto-creation
 *   is off on the local broker).
 * Output: the tool's own figures, parsed from its summary line.
 * Failure: rejects when java is missing (STS_PREREQUISITE_MISSING), the tool exits non-zero, or
 *   its summary line cannot be parsed (the error carries the tool's last output lines).
 */

const exec = promisify(execFile);

/** 512 MB heap: the tools buffer little, and the broker and MariaDB share the same RAM. */
const TOOL_HEAP = '-Xmx512m';

export interface ConsumerPerfResult {
  /** data.consumed.in.nMsg */
  messages: number;
  /** nMsg.sec: over the whole run, the group join included (as settlement-aggregation reports). */
  recordsPerSecond: number;
  /** fetch.nMsg.sec: fetching only, the join excluded. */
  fetchRecordsPerSecond: number;
  megabytesPerSecond: number;
}

export async function consumerPerformance(
  dataDir: string,
  broker: string,
  topic: string,
  messages: number,
  group: string,
): Promise<ConsumerPerfResult> {
  const { stdout } = await runTool(dataDir, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    broker,
    '--topic',
    topic,
    '--messages',
    String(messages),
    '--group',
    group,
    '--timeout',
    '60000',
  ]);
  // Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  // rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const cells = lastLine(stdout)
    .split(',')
    .map((c) => Number(c.trim()));
  const [mbSec, n, nSec, fetchNSec] = [cells[3], cells[4], cells[5], cells[9]];
  if (!Number.isFinite(nSec) || !Number.isFinite(n))
    throw new Error(`ConsumerPerformance: unexpected output: ${lastLine(stdout)}`);
  return {
    messages: n!,
    recordsPerSecond: Math.round(nSec!),
    fetchRecordsPerSecond: Math.round(fetchNSec ?? NaN),
    megabytesPerSecond: round(mbSec ?? NaN),
  };
}

export interface ProducerPerfResult {
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

/**
 * `--throughput -1` (as fast as it goes), acks=all like the pipeline's producers; everything else
 * is the Java client's defaults, which is the point: the reference is Kafka as shipped.
 */
export async function producerPerformance(
  dataDir: string,
  broker: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<ProducerPerfResult> {
  const { stdout } = await runTool(dataDir, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${broker}`,
    'acks=all',
  ]);
  // "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, ..." is printed
  // every 5 s for the last window, then once for the whole run: the last one is the summary.
  const summary =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency/g;
  const m = [...stdout.matchAll(summary)].pop();
  if (!m) throw new Error(`ProducerPerformance: unexpected output: ${lastLine(stdout)}`);
  return {
    records: Number(m[1]),
    recordsPerSecond: Math.round(Number(m[2])),
    megabytesPerSecond: Number(m[3]),
    avgLatencyMs: Number(m[4]),
    maxLatencyMs: Number(m[5]),
  };
}

async function runTool(dataDir: string, mainClass: string, args: string[]) {
  const libs = await ensureKafkaJars(dataDir);
  // The tools log through log4j 1 with no config and warn about it on stderr; that is noise.
  return exec(findJava(), [TOOL_HEAP, '-cp', `${libs}/*`, mainClass, ...args], {
    maxBuffer: 16 << 20,
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

const round = (x: number) => Math.round(x * 100) / 100;
