import type { Counter, Gauge, Registry } from 'prom-client';
import { metricsOf } from '../../runtime/metrics';

/**
 * What an operator watches on payments: final states written, payouts deferred to the delay
 * queue and why, escalations to ops (alert + DLQ), whether consumption is paused by the breaker,
 * and how many payouts wait in the delay queue.
 */
export interface PaymentMetrics {
  finalized: Counter<'status'>;
  deferred: Counter<'reason'>;
  escalations: Counter<'code'>;
  paused: Gauge;
  queueSize: Gauge;
}

/** One set per registry; several payment-notify instances in a process (tests) share it. */
export function paymentMetrics(registry: Registry): PaymentMetrics {
  const { counter, gauge } = metricsOf(registry);
  return {
    finalized: counter('sts_payment_finalized_total', 'Payouts driven to PAID or FAILED', [
      'status',
    ]),
    deferred: counter(
      'sts_payment_deferred_total',
      'Gateway calls without a final answer, left to the delay queue',
      ['reason'],
    ),
    escalations: counter(
      'sts_payment_escalations_total',
      'Payouts escalated to ops: alerted and dead-lettered',
      ['code'],
    ),
    paused: gauge(
      'sts_payment_consumption_paused',
      '1 while the open gateway breaker pauses payout consumption',
    ),
    queueSize: gauge(
      'sts_payment_delay_queue_size',
      'Payouts waiting in the delay queue at the last look',
    ),
  };
}
