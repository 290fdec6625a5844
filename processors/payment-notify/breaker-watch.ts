import type { GatewayClient } from '../../runtime/gateway/gateway-client';
import type { Logger } from '../../runtime/logger';
import type { PaymentMetrics } from './payment-metrics';

/**
 * Turns the gateway breaker's transitions into flow control (docs/DESIGN.md, lesson 7):
 *   open      pause consumption of the payout topic: every call would fail fast, and TRYing more
 *             payouts would only fill the delay queue
 *   halfOpen  send ONE trial request (a lookup of a key that is never used, so it executes
 *             nothing); the breaker counts it: success closes it, failure reopens it
 *   close     resume consumption
 * While the breaker is open opossum sends nothing (calls fail fast and are deferred), and the
 * compensator takes nothing until it closes, so the trial is the only request an outage sees once
 * the breaker is open: no retry storm.
 */
const PROBE_KEY = 'sts-breaker-probe';

export interface FlowSwitch {
  pauseConsumption(): void;
  resumeConsumption(): void;
}

export function watchBreaker(
  gateway: GatewayClient,
  flow: FlowSwitch,
  metrics: PaymentMetrics,
  logger: Logger,
): { stop(): void } {
  const onOpen = () => {
    logger.warn('gateway breaker open: pausing payout consumption');
    metrics.paused.set(1);
    flow.pauseConsumption();
  };
  const onHalfOpen = () => {
    logger.info('gateway breaker half-open: sending one trial request');
    gateway
      .lookup(PROBE_KEY)
      .catch((err: unknown) => logger.warn({ err }, 'breaker trial request failed'));
  };
  const onClose = () => {
    logger.info('gateway breaker closed: resuming payout consumption');
    metrics.paused.set(0);
    flow.resumeConsumption();
  };
  gateway.on('breakerOpen', onOpen);
  gateway.on('breakerHalfOpen', onHalfOpen);
  gateway.on('breakerClose', onClose);
  return {
    stop() {
      gateway.off('breakerOpen', onOpen);
      gateway.off('breakerHalfOpen', onHalfOpen);
      gateway.off('breakerClose', onClose);
    },
  };
}
