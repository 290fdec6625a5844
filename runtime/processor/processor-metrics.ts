import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the processor runtime. Several processors (and tests) share one
 * registry, and prom-client throws when a metric name is registered twice, so the metric objects
 * are created once per registry and labelled by processor.
 */
export interface ProcessorMetrics {
  /** outcome: `ok` (effect committed), `dlq` (dead-lettered). */
  records: Counter<'processor' | 'outcome'>;
  batchSeconds: Histogram<'processor'>;
  dlq: Counter<'processor' | 'code'>;
  inFlight: Gauge<'processor'>;
  retries: Counter<'processor' | 'code'>;
  /**
   * Retry loops that used up their attempts, by the last error's code and what followed:
   * `dead_lettered` (the database answered, the record went to the DLQ as STS_RETRIES_EXHAUSTED),
   * `isolated` (the same for a whole sub-batch, which is then redone record by record),
   * `outage` (the database probe failed: still retrying, nothing dead-lettered), `escalated` (a
   * dependency with no record to blame, the registry or the DLQ topic: still retrying).
   */
  retriesExhausted: Counter<'processor' | 'code' | 'outcome'>;
  /** Partitions held by a retry loop past its attempt bound (outage or escalation) right now. */
  stalledPartitions: Gauge<'processor'>;
  /**
   * Offset commits the group coordinator refused because this member no longer owned the
   * partition (a paused or partitioned instance that came back after its session ended), by the
   * broker's error type. Each one is a zombie fenced: its records belong to the new owner.
   */
  commitsRefused: Counter<'processor' | 'reason'>;
}

const byRegistry = new WeakMap<Registry, ProcessorMetrics>();

export function processorMetrics(registry: Registry = defaultRegistry): ProcessorMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ProcessorMetrics = {
    records: new Counter({
      name: 'sts_processor_records_total',
      help: 'Input records finished, by outcome.',
      labelNames: ['processor', 'outcome'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'sts_processor_batch_seconds',
      help: 'Wall time of one sub-batch: decode, transaction, offset commit.',
      labelNames: ['processor'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    dlq: new Counter({
      name: 'sts_processor_dlq_total',
      help: 'Records sent to the DLQ, by error code.',
      labelNames: ['processor', 'code'],
      registers,
    }),
    inFlight: new Gauge({
      name: 'sts_processor_in_flight',
      help: 'Records fetched and not yet committed.',
      labelNames: ['processor'],
      registers,
    }),
    retries: new Counter({
      name: 'sts_processor_retries_total',
      help: 'Retriable failures, by error code.',
      labelNames: ['processor', 'code'],
      registers,
    }),
    retriesExhausted: new Counter({
      name: 'sts_processor_retries_exhausted_total',
      help: 'Retry loops past their attempt bound, by last error code and outcome (dead_lettered, isolated, outage, escalated).',
      labelNames: ['processor', 'code', 'outcome'],
      registers,
    }),
    stalledPartitions: new Gauge({
      name: 'sts_processor_stalled_partitions',
      help: 'Partitions held by a retry loop past its attempt bound (database outage, DLQ or registry unreachable).',
      labelNames: ['processor'],
      registers,
    }),
    commitsRefused: new Counter({
      name: 'sts_processor_commits_refused_total',
      help: 'Offset commits refused by the group coordinator because this member lost the partition (fenced), by broker error.',
      labelNames: ['processor', 'reason'],
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
