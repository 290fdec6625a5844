import type { Logger } from '../../runtime/logger';
import { PeriodicTask } from '../../runtime/periodic-task';
import type { ReconRunner } from './recon-runner';

/**
 * Runs reconciliation every `intervalMs` (STS_RECON_INTERVAL_MS, default 5 min) in `sts run all`.
 * The first run starts at once, so findings exist soon after a start; each next run starts an
 * interval after the previous one ended, so a slow run never overlaps the next. A failed run is
 * logged and retried at the next tick; stop() waits for the run in flight.
 */
export class ReconScheduler {
  private readonly task: PeriodicTask;

  constructor(
    private readonly runner: ReconRunner,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask(() => this.tick(), intervalMs);
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
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
