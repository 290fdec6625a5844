import { Counter, Gauge, type Registry } from 'prom-client';

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

const byRegistry = new WeakMap<Registry, PaymentMetrics>();

/** One set per registry; several payment-notify instances in a process (tests) share it. */
export function paymentMetrics(registry: Registry): PaymentMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const m: PaymentMetrics = {
    finalized:
      existing<Counter<'status'>>('sts_payment_finalized_total') ??
      new Counter({
        name: 'sts_payment_finalized_total',
        help: 'Payouts driven to PAID or FAILED',
        labelNames: ['status'],
        registers,
      }),
    deferred:
      existing<Counter<'reason'>>('sts_payment_deferred_total') ??
      new Counter({
        name: 'sts_payment_deferred_total',
        help: 'Gateway calls without a final answer, left to the delay queue',
        labelNames: ['reason'],
        registers,
      }),
    escalations:
      existing<Counter<'code'>>('sts_payment_escalations_total') ??
      new Counter({
        name: 'sts_payment_escalations_total',
        help: 'Payouts escalated to ops: alerted and dead-lettered',
        labelNames: ['code'],
        registers,
      }),
    paused:
      existing<Gauge>('sts_payment_consumption_paused') ??
      new Gauge({
        name: 'sts_payment_consumption_paused',
        help: '1 while the open gateway breaker pauses payout consumption',
        registers,
      }),
    queueSize:
      existing<Gauge>('sts_payment_delay_queue_size') ??
      new Gauge({
        name: 'sts_payment_delay_queue_size',
        help: 'Payouts waiting in the delay queue at the last look',
        registers,
      }),
  };
  byRegistry.set(registry, m);
  return m;
}
