import { Gauge, Registry } from 'prom-client';
import type { ClusterSample } from './cluster-sampler';
import { STATUS_VALUE, type GroupReport } from './lag-evaluator';

/**
 * Prometheus gauges of the lag monitor, one series per group, topic and partition. They live in
 * the monitor's own registry (two monitors in one process, as in tests, must not collide on a
 * name), which GET /metrics merges with the process's default registry.
 *
 * Every report replaces all series, so a partition or group that is no longer sampled stops
 * being exported instead of freezing at its last value.
 */
const STATUS_HELP = Object.entries(STATUS_VALUE)
  .map(([name, value]) => `${value}=${name}`)
  .join(', ');

export class LagMetrics {
  readonly registry = new Registry();
  private readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  private readonly lagSeconds: Gauge<'group' | 'topic' | 'partition'>;
  private readonly status: Gauge<'group' | 'topic' | 'partition'>;
  private readonly underReplicated: Gauge;
  private readonly offline: Gauge;
  private readonly brokersDown: Gauge;

  constructor() {
    const labelNames = ['group', 'topic', 'partition'] as const;
    const registers = [this.registry];
    this.lag = new Gauge({
      name: 'sts_consumer_lag',
      help: 'Messages between the committed offset and the last stable offset.',
      labelNames,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'sts_consumer_lag_seconds',
      help: 'Age of the next record the group will process; 0 when caught up.',
      labelNames,
      registers,
    });
    this.status = new Gauge({
      name: 'sts_consumer_status',
      help: `Lag status by Burrow-style rules: ${STATUS_HELP}.`,
      labelNames,
      registers,
    });
    this.underReplicated = new Gauge({
      name: 'sts_kafka_under_replicated_partitions',
      help: 'Partitions of the pipeline topics whose in-sync replicas are fewer than their replicas.',
      registers,
    });
    this.offline = new Gauge({
      name: 'sts_kafka_offline_partitions',
      help: 'Partitions of the pipeline topics with no leader.',
      registers,
    });
    this.brokersDown = new Gauge({
      name: 'sts_kafka_brokers_down',
      help: 'Brokers named as replicas of the pipeline topics that the cluster does not list as live.',
      registers,
    });
  }

  /** The cluster's gauges; left as they were when the cluster could not be read. */
  updateCluster(cluster: ClusterSample): void {
    if (cluster.error) return;
    this.underReplicated.set(cluster.underReplicated);
    this.offline.set(cluster.offline);
    this.brokersDown.set(cluster.brokers.filter((b) => !b.up).length);
  }

  update(reports: GroupReport[]): void {
    this.lag.reset();
    this.lagSeconds.reset();
    this.status.reset();
    for (const g of reports) {
      for (const p of g.partitions) {
        const labels = { group: g.group, topic: g.topic, partition: String(p.partition) };
        // A gauge is a double: exact up to 2^53 messages, which no partition reaches.
        this.lag.set(labels, Number(p.lag));
        this.lagSeconds.set(labels, p.lagSeconds);
        this.status.set(labels, STATUS_VALUE[p.status]);
      }
    }
  }
}
