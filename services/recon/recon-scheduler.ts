import type { Logger } from '../../runtime/logger';
import type { ReconRunner } from './recon-runner';

/**
 * Runs reconciliation every `intervalMs` (STS_RECON_INTERVAL_MS, default 5 min) in `sts run all`.
 * The first run starts at once, so findings exist soon after a start; each next run starts an
 * interval after the previous one ended, so a slow run never overlaps the next. A failed run is
 * logged and retried at the next tick; stop() waits for the run in flight.
 */
export class ReconScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly runner: ReconRunner,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const loop = () => {
      this.running = this.tick().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, this.intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.runner.close();
  }

  /** One run; never throws. */
  async tick(): Promise<void> {
    try {
      await this.runner.run();
    } catch (err) {
      this.logger.error({ err }, 'scheduled reconciliation run failed; retrying next tick');
    }
  }
}
