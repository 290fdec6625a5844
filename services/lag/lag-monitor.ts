import type { Kafka } from 'kafkajs';
import { ConfigError } from '../../runtime/errors';
import type { Logger } from '../../runtime/logger';
import type { ClusterSample } from './cluster-sampler';
import { LagAlerter } from './lag-alerter';
import { EVALUATOR_DEFAULTS, evaluateGroup, windowOf, type GroupReport } from './lag-evaluator';
import { LagMetrics } from './lag-metrics';
import { LagSampler, type GroupSample, type LagTarget } from './lag-sampler';

/**
 * The lag loop: sample every intervalMs, keep each group's samples for the evaluation window,
 * judge them (lag-evaluator.ts), and hand the reports to the gauges and the alerter. One sample
 * at a time: a slow broker stretches the interval instead of stacking requests on it.
 */
export const LAG_MONITOR_DEFAULTS = {
  ...EVALUATOR_DEFAULTS,
  /** Time between samples (ms). */
  intervalMs: 2000,
};
export type LagMonitorOptions = typeof LAG_MONITOR_DEFAULTS;

export interface LagReport {
  at: number;
  groups: GroupReport[];
  /** The brokers and the replicas of the sampled topics, taken with the same sample. */
  cluster?: ClusterSample;
}

export interface LagMonitorDeps {
  kafka: Kafka;
  logger: Logger;
  /** Alerting: empty webhookUrl disables it. */
  alert?: { webhookUrl: string; alertAfterMs: number };
  /**
   * Where several instances monitor one pipeline, only the holder of this role posts alerts
   * (SingleActive); the others sample and serve /lag and /metrics but stay quiet. A standby that
   * takes over starts its episodes afresh, so an episode open at the hand-over is alerted once
   * more rather than never.
   */
  alertRole?: { active(): Promise<boolean>; release(): Promise<void> };
  clock?: () => number;
}

export class LagMonitor {
  readonly metrics = new LagMetrics();
  private readonly opts: LagMonitorOptions;
  private readonly sampler: LagSampler;
  private readonly alerter?: LagAlerter;
  private readonly history = new Map<string, GroupSample[]>();
  private latestReport?: LagReport;
  private inFlight?: Promise<LagReport>;
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly deps: LagMonitorDeps,
    private readonly targets: LagTarget[],
    options: Partial<LagMonitorOptions> = {},
  ) {
    this.opts = { ...LAG_MONITOR_DEFAULTS, ...options };
    if (this.opts.stallAfterMs > this.opts.windowMs) {
      throw new ConfigError(
        `stallAfterMs (${this.opts.stallAfterMs}) must not exceed windowMs (${this.opts.windowMs}): a stall longer than the window can never be seen`,
        'raise windowMs or lower stallAfterMs',
      );
    }
    this.sampler = new LagSampler(deps.kafka, deps.clock);
    if (deps.alert?.webhookUrl)
      this.alerter = new LagAlerter(deps.alert, deps.logger.child({ component: 'lag-alerter' }));
  }

  get isRunning(): boolean {
    return this.running;
  }

  latest(): LagReport | undefined {
    return this.latestReport;
  }

  /** Takes one sample now (or joins the one in flight) and returns the judged report. */
  sampleOnce(): Promise<LagReport> {
    this.inFlight ??= this.takeSample().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Samples every intervalMs until stop(). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      try {
        await this.sampleOnce();
      } catch (err) {
        this.deps.logger.warn({ err }, 'lag sample failed; trying again at the next interval');
      }
      if (this.running) this.timer = setTimeout(tick, this.opts.intervalMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    await this.sampler.close();
    await this.deps.alertRole?.release();
  }

  private async takeSample(): Promise<LagReport> {
    const [samples, cluster] = await Promise.all([
      this.sampler.sample(this.targets),
      this.sampler.cluster(this.targets.map((t) => t.topic)),
    ]);
    const groups: GroupReport[] = [];
    for (const s of samples) {
      const key = `${s.group}\u0000${s.topic}`;
      const kept = windowOf([...(this.history.get(key) ?? []), s], this.opts);
      this.history.set(key, kept);
      groups.push(evaluateGroup(kept, this.opts));
    }
    const report = { at: samples[0]?.at ?? (this.deps.clock ?? Date.now)(), groups, cluster };
    this.latestReport = report;
    this.metrics.update(groups);
    this.metrics.updateCluster(cluster);
    if (this.alerter && (!this.deps.alertRole || (await this.deps.alertRole.active())))
      await this.alerter.observe(groups, report.at);
    return report;
  }
}
