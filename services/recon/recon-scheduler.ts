import type { SingleActive } from '../../runtime/db/single-active';
import type { Logger } from '../../runtime/logger';
import { PeriodicTask } from '../../runtime/periodic-task';
import type { ReconRunner } from './recon-runner';

/**
 * Runs reconciliation every `intervalMs` (STS_RECON_INTERVAL_MS, default 5 min) in `sts run all`.
 * The first run starts at once, so findings exist soon after a start; each next run starts an
 * interval after the previous one ended, so a slow run never overlaps the next. A failed run is
 * logged and retried at the next tick; stop() waits for the run in flight.
 *
 * With a role (SingleActive), only the instance that holds it runs: several `sts run all` make one
 * scheduled run per interval between them, not one each, and a standby takes over within an
 * interval when the active one stops or dies.
 */
export class ReconScheduler {
  private readonly task: PeriodicTask;

  constructor(
    private readonly runner: ReconRunner,
    intervalMs: number,
    private readonly logger: Logger,
    private readonly role?: SingleActive,
  ) {
    this.task = new PeriodicTask(() => this.tick(), intervalMs);
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    await this.role?.release();
    this.runner.close();
  }

  /** One run, if this instance holds the role; never throws. */
  async tick(): Promise<void> {
    if (this.role && !(await this.role.active())) return;
    try {
      await this.runner.run();
    } catch (err) {
      this.logger.error({ err }, 'scheduled reconciliation run failed; retrying next tick');
    }
  }
}
