import { Gauge, Registry } from 'prom-client';
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
