/**
 * Every benchmark `npm run bench` runs, in the order it runs them, with the arguments of each mode.
 *
 * "full" is the issues' sizes (1M upload rows, 1M order events, 1M sellers × 10 items for the
 * close, 100k payouts) and is what docs/BENCHMARKS.md reports. "quick" only checks the machinery
 * in a few minutes: its figures are dominated by start-up costs and say nothing about the targets,
 * which is why a quick run writes its report elsewhere (see benchmarks-report.ts).
 *
 * The arguments are spelled out even where they equal a benchmark's defaults, so that the
 * command printed beside each figure is exactly the one that produced it.
 */
export type BenchMode = 'full' | 'quick';

export interface BenchSpec {
  name: string;
  /** Its section's heading in docs/BENCHMARKS.md. */
  title: string;
  /** What it measures and against which reference: prose that does not change from run to run. */
  what: string;
  args: Record<BenchMode, string[]>;
}

export const BENCHES: readonly BenchSpec[] = [
  {
    name: 'runtime-throughput',
    title: 'Processor runtime: exactly-once effects per record',
    what:
      'A handler does one database upsert per record; effects are exactly once (the run fails if the ' +
      'effect count or sum is off). The runtime as shipped (one transaction and one offset commit per ' +
      'sub-batch, the upsert as one bulk statement) beside the naive baseline: the same runtime with one ' +
      'record per transaction, a transaction and an offset commit per message, which is what a ' +
      'hand-written eachMessage consumer does.',
    args: { full: ['200000', '5000'], quick: ['20000', '1000'] },
  },
  {
    name: 'gateway-simulator',
    title: 'Gateway simulator',
    what:
      "Requests through GatewayClient to the simulator in its own process, each execution fsync'd to " +
      'its journal with group commit, beside the same requests sent one at a time (every request ' +
      'paying one fsync alone). The run fails if a request is not executed, a key executes twice, or ' +
      'the journal holds another number of records than were acknowledged.',
    args: { full: ['10000', '64'], quick: ['2000', '64'] },
  },
  // At the issues' sizes the database runs on a private MariaDB with a 4G buffer pool (its redo log
  // a quarter of that, bench/bench-mysql.ts): 10M items or a 1M-row file are gigabytes, and the
  // shared server's 128 MB pool would measure the disk instead of the code. The references (LOAD
  // DATA, the naive baseline) run on the same server, and the report names it.
  {
    name: 'upload-ingestion',
    title: "Upload ingestion beside MariaDB's LOAD DATA",
    what:
      'The pipeline figure runs from the first byte read until the upload is COMPLETED: streaming intake ' +
      'with SHA-256, chunks to Kafka, and the real upload-ingestion processor in its own process ' +
      '(validation, ids, duplicate and conflict checks, seller checks, balances, rejects, checkpoints). ' +
      'The reference loads the same file into a scratch copy of `billing_item` with `LOAD DATA LOCAL ' +
      'INFILE`, in the same run. LOAD DATA does none of the balance, dedup or checkpoint work.',
    // Five rounds, the median reported: single rounds of the same code ranged from 1.3× to 1.9×
    // LOAD DATA on a shared machine, and with three one busy moment moved the median by 0.2.
    args: { full: ['1000000', '--private-mysql', '4G', '--rounds', '5'], quick: ['20000'] },
  },
  {
    name: 'settlement-aggregation',
    title: 'Settlement aggregation beside ConsumerPerformance',
    what:
      'Completed order events through the settlement-aggregation processor as shipped: each event becomes ' +
      'a billing item, a balance move and a commission request in the outbox, exactly once (the run fails ' +
      "otherwise). Beside it, in the same run: Kafka's own ConsumerPerformance reading the same topic " +
      '(the ceiling for merely consuming these records), and the naive baseline (the same processor with ' +
      'one event per transaction).',
    args: { full: ['1000000', '5000', '--private-mysql', '4G'], quick: ['20000', '1000'] },
  },
  {
    name: 'settlement-close',
    title: 'Cycle close',
    what:
      'Timed: `closeCycle` as `sts settle close` runs it (watermark, payouts with carry-forward and ' +
      'payout.created in the outbox, the pain.001 file written, verified against the database and ' +
      'released) and then the outbox relay publishing every payout event. Not timed: the setup, which ' +
      'writes the items as a file, bulk-loads them with LOAD DATA and builds the balances with one ' +
      "INSERT … SELECT … GROUP BY. That setup is the reference: MariaDB's bulk path over the same items, " +
      "in the same run. The relay's rate stands beside ProducerPerformance from the order-produce " +
      'benchmark, measured in the same `npm run bench` when both ran (see that section for its date).',
    args: { full: ['1000000', '10', '--private-mysql', '4G'], quick: ['5000', '10'] },
  },
  {
    name: 'payment-notify',
    title: 'Payment notify',
    what:
      'Payouts through payment-notify end to end (TCC try, claim, gateway call, confirm, result in the ' +
      'outbox) against the gateway simulator in its own process, beside bare gateway calls at the same ' +
      "concurrency (the simulator's ceiling here). Then a gateway outage while payouts flow: the time " +
      'until the breaker opens and consumption pauses. The run fails if a payout is not final, a key ' +
      'executed twice, or the ledger is unbalanced. Last, the bank-file rail with as many payouts: pain.001 ' +
      'files written, verified, submitted and transmitted, executed by the bank simulator and closed by its ' +
      'pain.002 reports, timed from release to the last PAID, beside the gateway rail.',
    args: { full: ['100000'], quick: ['2000'] },
  },
  {
    name: 'order-produce',
    title: 'Producing order events beside ProducerPerformance',
    what:
      '`sts orders produce` as shipped, in its own process: synthetic order events, Avro through the ' +
      'registry, keyed by seller, idempotent producer with one request in flight; the figure is the ' +
      "command's own timing (registry lookup, connect, encode, send). The reference, in the same run: " +
      "Kafka's ProducerPerformance with the same record count and the events' mean value size, acks=all, " +
      'Java client defaults otherwise, no keys. The run fails if the topic holds another number of ' +
      'records than the command published.',
    args: { full: ['715000', '1000'], quick: ['10000', '1000'] },
  },
  {
    name: 'scale-out',
    title: 'Scaling out: two instances per group, and a broker killed',
    what:
      'settlement-aggregation and upload-ingestion, each the catalog processor in its own process, with ' +
      'one and then two instances in the group, in the same run: the instances join first, then the ' +
      'events (or the upload) go in, and the clock runs until the last offset is committed (the upload ' +
      'until it is COMPLETED). The run fails if an event or a row is lost or applied twice. Then, on a ' +
      'private three-node cluster with a producer writing at acks=all, kill -9 of the node leading the ' +
      'most partitions: the time until every partition has a leader again, the longest the producer ' +
      'waited for an acknowledgement, and the time until the restarted node is back in every ISR.',
    args: { full: ['200000', '200000'], quick: ['5000', '5000'] },
  },
  {
    name: 'end-to-end',
    title: 'End to end: the full demo',
    what:
      'The demo (`runFullDemo`, on its own `sts_demo` database) at the sizes below: order events for SG ' +
      'and MY through aggregation and commission, an upload with bad rows, both regions closed ' +
      '(watermark, payouts, pain.001), every payout paid through the gateway simulator. The figure is ' +
      "order events per second from the first publish to the last payout PAID, by the demo's own laps " +
      "(event generation is inside the publish lap). The reference is Kafka's ConsumerPerformance " +
      'reading the same order events right after, in the same run: how fast they can merely be read. ' +
      'The window does much more than read them, so the ratio shows how close the whole story comes to ' +
      'bare consumption, not a like-for-like stage comparison (the sections above give those).',
    args: { full: ['357000', '100000', '5000'], quick: ['3000', '3000', '300'] },
  },
];

export const BENCH_NAMES = BENCHES.map((b) => b.name);

/** The command that reruns one benchmark alone with the given arguments. */
export function benchCommand(name: string, args: readonly string[]): string {
  return ['npx tsx', `bench/${name}.ts`, ...args].join(' ');
}
