import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What an operator watches on reconciliation: open findings per rule and severity (the number to
 * alert on, and to see fall after a fix), when the last run finished, and rules that failed to run.
 */
export interface ReconMetrics {
  findings: Gauge<'rule' | 'severity'>;
  lastRun: Gauge;
  ruleErrors: Counter<'rule'>;
}

const byRegistry = new WeakMap<Registry, ReconMetrics>();

/** One set per registry: several runners in a process (tests, API beside the scheduler) share it. */
export function reconMetrics(registry: Registry): ReconMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const m: ReconMetrics = {
    findings:
      existing<Gauge<'rule' | 'severity'>>('sts_recon_findings') ??
      new Gauge({
        name: 'sts_recon_findings',
        help: 'Open reconciliation findings after the last run',
        labelNames: ['rule', 'severity'],
        registers,
      }),
    lastRun:
      existing<Gauge>('sts_recon_last_run_timestamp_seconds') ??
      new Gauge({
        name: 'sts_recon_last_run_timestamp_seconds',
        help: 'Unix time the last reconciliation run finished',
        registers,
      }),
    ruleErrors:
      existing<Counter<'rule'>>('sts_recon_rule_errors_total') ??
      new Counter({
        name: 'sts_recon_rule_errors_total',
        help: 'Rule runs that failed (their findings were left as they were)',
        labelNames: ['rule'],
        registers,
      }),
  };
  byRegistry.set(registry, m);
  return m;
}
