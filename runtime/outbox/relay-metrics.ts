import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The relay's Prometheus metrics. What an operator watches: rows published per topic, how long
 * Kafka takes to acknowledge a batch, how old the oldest unpublished row is (the outbox's lag,
 * which grows when the relay is down or Kafka is slow), and which instance is active.
 */
export interface RelayMetrics {
  published: Counter<'topic'>;
  latency: Histogram;
  oldestPending: Gauge;
  active: Gauge;
  errors: Counter<'code'>;
  pruned: Counter;
  /** Rows parked (set aside as unpublishable) by code: too large, bad headers, held behind one. */
  parked: Counter<'topic' | 'code'>;
  /** Parked rows still unpublished, at the last batch: what an operator must fix. */
  parkedPending: Gauge;
}

const metricsByRegistry = new WeakMap<Registry, RelayMetrics>();

/** One set of metrics per registry: several relays in a process (tests) share them. */
export function relayMetrics(registry: Registry): RelayMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  m = {
    published:
      existing<Counter<'topic'>>('sts_outbox_published_total') ??
      new Counter({
        name: 'sts_outbox_published_total',
        help: 'Outbox rows published to Kafka',
        labelNames: ['topic'],
        registers,
      }),
    latency:
      existing<Histogram>('sts_outbox_publish_seconds') ??
      new Histogram({
        name: 'sts_outbox_publish_seconds',
        help: 'Send-to-ack time of one relay batch',
        registers,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
    oldestPending:
      existing<Gauge>('sts_outbox_oldest_pending_seconds') ??
      new Gauge({
        name: 'sts_outbox_oldest_pending_seconds',
        help: 'Age of the oldest unpublished outbox row at the last poll',
        registers,
      }),
    active:
      existing<Gauge>('sts_outbox_relay_active') ??
      new Gauge({
        name: 'sts_outbox_relay_active',
        help: '1 while this process holds the relay lock',
        registers,
      }),
    errors:
      existing<Counter<'code'>>('sts_outbox_relay_errors_total') ??
      new Counter({
        name: 'sts_outbox_relay_errors_total',
        help: 'Failed relay batches by error code',
        labelNames: ['code'],
        registers,
      }),
    pruned:
      existing<Counter>('sts_outbox_pruned_total') ??
      new Counter({
        name: 'sts_outbox_pruned_total',
        help: 'Published outbox rows deleted after retention',
        registers,
      }),
    parked:
      existing<Counter<'topic' | 'code'>>('sts_outbox_parked_total') ??
      new Counter({
        name: 'sts_outbox_parked_total',
        help: 'Outbox rows the relay parked instead of retrying forever, by code',
        labelNames: ['topic', 'code'],
        registers,
      }),
    parkedPending:
      existing<Gauge>('sts_outbox_parked_rows') ??
      new Gauge({
        name: 'sts_outbox_parked_rows',
        help: 'Parked outbox rows still unpublished at the last batch',
        registers,
      }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}
