import { LockUnavailableError, WatermarkNotReachedError } from '../../runtime/errors';
import { cycleIdFor } from '../../runtime/ledger/cycle-calendar';
import { cycleBounds } from '../../runtime/ledger/cycle-bounds';
import { closeCycle, type CloseDeps, type CloseOptions } from './close-cycle';

/**
 * Closes each scheduled region's last ended cycle on its own, through closeCycle, the very path
 * `sts settle close` takes. A tick that finds the watermark not yet reached, or another close
 * running, tries again at the next tick; anything else is logged as an error and retried too, so
 * a scheduler never gives up on a cycle silently.
 */
export const CLOSE_SCHEDULER_DEFAULTS = {
  /** How often each region is checked (ms). */
  intervalMs: 60_000,
  /** How long one tick waits for the watermark before trying again next tick (ms). */
  watermarkTimeoutMs: 30_000,
};

export class CloseScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly opts: typeof CLOSE_SCHEDULER_DEFAULTS;

  constructor(
    private readonly deps: CloseDeps,
    private readonly regions: string[],
    opts: Partial<typeof CLOSE_SCHEDULER_DEFAULTS> & Pick<CloseOptions, 'plan' | 'payoutsTopic'> = {},
    private readonly extra: Pick<CloseOptions, 'plan' | 'payoutsTopic'> = { plan: opts.plan, payoutsTopic: opts.payoutsTopic },
  ) {
    this.opts = { ...CLOSE_SCHEDULER_DEFAULTS, ...opts };
  }

  start(): void {
    const loop = () => {
      this.running = this.tick().then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the regions; returns the cycles it closed. */
  async tick(now = new Date()): Promise<Array<{ region: string; cycleId: bigint }>> {
    const closed: Array<{ region: string; cycleId: bigint }> = [];
    for (const region of this.regions) {
      const cutoff = cycleBounds(region, cycleIdFor(region, now)).startsAt;
      const cycleId = cycleIdFor(region, new Date(cutoff.getTime() - 1));
      const row = (await this.deps.db('settlement_cycle').where({ region, cycle_id: cycleId.toString() }).first('status')) as { status: string } | undefined;
      if (row?.status === 'CLOSED') continue;
      try {
        // Drained to the tick: events of the cycle published a little after its cutoff are still paid in it.
        const result = await closeCycle(this.deps, { region, cutoff, now, drainUntil: new Date(), watermarkTimeoutMs: this.opts.watermarkTimeoutMs, ...this.extra });
        if (!result.alreadyClosed) closed.push({ region, cycleId });
      } catch (err) {
        const expected = err instanceof WatermarkNotReachedError || err instanceof LockUnavailableError;
        this.deps.logger[expected ? 'warn' : 'error']({ err, region, cycleId }, expected ? 'scheduled close postponed to the next tick' : 'scheduled close failed; retrying next tick');
      }
    }
    return closed;
  }
}
