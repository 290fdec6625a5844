import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of one registry, each created on first use and the same object after: several
 * instances of a part in one process (tests, the ops API beside a scheduler) must share a metric,
 * because prom-client refuses a second one under the same name.
 */
export interface MetricsOf {
  counter<L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
  ): Counter<L>;
  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram(name: string, help: string, buckets: number[]): Histogram;
}

export function metricsOf(registry: Registry): MetricsOf {
  const registers = [registry];
  const known = <M>(name: string) => registry.getSingleMetric(name) as M | undefined;
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      known<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      known<Gauge<L>>(name) ?? new Gauge<L>({ name, help, labelNames, registers }),
    histogram: (name, help, buckets) =>
      known<Histogram>(name) ?? new Histogram({ name, help, buckets, registers }),
  };
}
