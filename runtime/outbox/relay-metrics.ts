import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { metricsOf } from '../metrics';

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

/** One set of metrics per registry: several relays in a process (tests) share them. */
export function relayMetrics(registry: Registry): RelayMetrics {
  const { counter, gauge, histogram } = metricsOf(registry);
  return {
    published: counter('sts_outbox_published_total', 'Outbox rows published to Kafka', ['topic']),
    latency: histogram(
      'sts_outbox_publish_seconds',
      'Send-to-ack time of one relay batch',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    oldestPending: gauge(
      'sts_outbox_oldest_pending_seconds',
      'Age of the oldest unpublished outbox row at the last poll',
    ),
    active: gauge('sts_outbox_relay_active', '1 while this process holds the relay lease'),
    errors: counter('sts_outbox_relay_errors_total', 'Failed relay batches by error code', [
      'code',
    ]),
    pruned: counter('sts_outbox_pruned_total', 'Published outbox rows deleted after retention'),
    parked: counter(
      'sts_outbox_parked_total',
      'Outbox rows the relay parked instead of retrying forever, by code',
      ['topic', 'code'],
    ),
    parkedPending: gauge(
      'sts_outbox_parked_rows',
      'Parked outbox rows still unpublished at the last batch',
    ),
  };
}
