import Redis from 'ioredis';
import { databaseName, type StsConfig } from '../../runtime/config';
import { GatewayClient } from '../../runtime/gateway/gateway-client';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { PAYMENT_NOTIFY_DEFAULTS } from './payment-options';
import type { PayoutEvent } from '../../contracts/payout';
import { paymentNotify } from './processor';

/**
 * payment-notify as `sts run` starts it: its own Redis connection, gateway client and registry
 * client from the environment, closed when the processor stops; escalations go to
 * STS_ALERT_WEBHOOK_URL, the alert channel the lag monitor and reconciliation use.
 *
 * Redis keys are namespaced by the MySQL database (`sts:pay:{<database>}:`): the delay queue and
 * the claims are derived from that database's payouts, so two databases on one Redis (test
 * workers, staging next to a demo) never see each other's entries. The braces are a cluster hash
 * tag, so every key of one namespace lives in one slot and the queue scripts stay atomic.
 *
 * The gateway pool has a socket for every call that can be in flight: four partitions' lanes,
 * the compensator's checks and the breaker's trial request (docs/DESIGN.md, lesson 7).
 */
export function paymentNotifyFromConfig(config: StsConfig, ids: SnowflakeGenerator): ProcessorDefinition<PayoutEvent> {
  // Not connected until the processor first uses it, so listing the catalog opens nothing.
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const sockets =
    PAYMENT_NOTIFY_DEFAULTS.maxInFlightPerPartition * 4 +
    PAYMENT_NOTIFY_DEFAULTS.compensatorConcurrency +
    1;
  const gateway = new GatewayClient({
    baseUrl: config.gatewayUrl,
    maxSockets: sockets,
    maxFreeSockets: sockets,
  });
  return paymentNotify({
    redis,
    gateway,
    registry: new RegistryClient(config.schemaRegistryUrl),
    keyPrefix: `sts:pay:{${databaseName(config.mysqlUrl)}}:`,
    ids,
    options: { alertWebhookUrl: config.alertWebhookUrl },
    async onStop() {
      gateway.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}
