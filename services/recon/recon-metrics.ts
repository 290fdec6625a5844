import type { Counter, Gauge, Registry } from 'prom-client';
import { metricsOf } from '../../runtime/metrics';

/**
 * What an operator watches on reconciliation: open findings per rule and severity (the number to
 * alert on, and to see fall after a fix), when the last run finished, and rules that failed to run.
 */
export interface ReconMetrics {
  findings: Gauge<'rule' | 'severity'>;
  lastRun: Gauge;
  ruleErrors: Counter<'rule'>;
}

/** One set per registry: several runners in a process (tests, API beside the scheduler) share it. */
export function reconMetrics(registry: Registry): ReconMetrics {
  const { counter, gauge } = metricsOf(registry);
  return {
    findings: gauge('sts_recon_findings', 'Open reconciliation findings after the last run', [
      'rule',
      'severity',
    ]),
    lastRun: gauge(
      'sts_recon_last_run_timestamp_seconds',
      'Unix time the last reconciliation run finished',
    ),
    ruleErrors: counter(
      'sts_recon_rule_errors_total',
      'Rule runs that failed (their findings were left as they were)',
      ['rule'],
    ),
  };
}
