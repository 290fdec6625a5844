import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { StsConfig } from '../config';

/**
 * The one place a kafkajs client is built, so timeouts and logging are the same everywhere.
 * kafkajs's own logger is quiet by default: our pino logs carry the context that matters.
 */
export function createKafka(
  config: Pick<StsConfig, 'kafkaBrokers'>,
  clientId: string,
  overrides: Partial<KafkaConfig> = {},
): Kafka {
  return new Kafka({
    clientId,
    brokers: config.kafkaBrokers,
    logLevel: process.env.STS_KAFKAJS_LOG === 'debug' ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    ...overrides,
  });
}

/** One metadata round trip; resolves with the broker count and latency, or throws. */
export async function probeKafka(brokers: string[], timeoutMs = 3000) {
  const kafka = createKafka({ kafkaBrokers: brokers }, 'sts-probe', {
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const started = process.hrtime.bigint();
    const cluster = await admin.describeCluster();
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { brokers: cluster.brokers.length, controller: cluster.controller, latencyMs };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
