import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import type { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import type { OrderEvent } from '../../contracts/order-event';

/**
 * Publishes order events the way upstream must (docs/DESIGN.md, "Contracts"): Avro through the
 * registry, keyed by seller so one seller's events stay in order on one partition, from an
 * idempotent producer, 5,000 per request. For `sts orders produce`, the demo and the chaos run.
 *
 * `retryUntil` (epoch ms): a connect or send that fails, say while a broker restarts, is tried
 * again until then; some of its events may then arrive twice, which is what an upstream retry does too and
 * what the pipeline must absorb. Without it the first failure is thrown.
 */
export async function publishOrderEvents(deps: { kafka: Kafka; registry: RegistryClient; codec: AvroCodec }, topic: string, events: readonly OrderEvent[], opts: { retryUntil?: number } = {}): Promise<void> {
  const schemaId = await deps.registry.latestId(valueSubject(topic));
  const producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const retrying = async (fn: () => Promise<unknown>) => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (opts.retryUntil === undefined || Date.now() > opts.retryUntil) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  try {
    // The connect too: an idempotent producer's first request (its producer id) goes to the node
    // the metadata names as controller, and kafkajs does not retry a refused connection there, so
    // a producer started just after a node died fails until the cluster's metadata moves on.
    await retrying(() => producer.connect());
    for (let i = 0; i < events.length; i += 5000) {
      const messages = await Promise.all(events.slice(i, i + 5000).map(async (e) => ({ key: e.shop_user_id.toString(), value: await deps.codec.encode(schemaId, e) })));
      await retrying(() => producer.send({ topic, messages }));
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
