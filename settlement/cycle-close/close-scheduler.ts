import { register, type Gauge } from 'prom-client';
import { metricsOf } from '../../runtime/metrics';
import type { ErrorCode } from '../../runtime/error-codes';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import { WatermarkNotReachedError } from './close-errors';
import { cycleBounds, cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { SingleActive } from '../../runtime/db/single-active';
import { closeCycle, type CloseDeps, type CloseOptions } from './close-cycle';

/**
 * Closes each scheduled region's last ended cycle on its own, through closeCycle, the very path
 * `sts settle close` takes. A tick that finds the watermark not yet reached, or another close
 * running, tries again at the next tick; anything else is logged as an error and retried too, so
 * a scheduler never gives up on a cycle silently.
 *
 * Bounded in effect: a close that keeps failing is retried (giving up would leave the cycle's
 * sellers unpaid) but not quietly. After `escalateAfterTicks` failed ticks in a row the region is
 * overdue: every further failure logs at error level with code STS_CLOSE_OVERDUE, the
 * `sts_close_overdue_ticks{region}` gauge counts the failed ticks, and overdue() lists it. The
 * usual cause, a partition held back (the watermark), shows in `sts lag` as STALLED.
 *
 * Several instances: each `sts run all` with a schedule starts one, and only the holder of the
 * `close-scheduler` role ticks (SingleActive); the others take the role over when it is freed.
 * closeCycle's own lock and its CLOSED check would keep two closes apart anyway; the role keeps
 * the standbys from queuing behind it and reporting overdue ticks of their own.
 */
export const CLOSE_SCHEDULER_DEFAULTS = {
  /** How often each region is checked (ms). */
  intervalMs: 60_000,
  /** How long one tick waits for the watermark before trying again next tick (ms). */
  watermarkTimeoutMs: 30_000,
  /** Failed ticks in a row after which a region's close is overdue and escalated. Default 15. */
  escalateAfterTicks: 15,
};

/** Failed ticks in a row per region; 0 once a close succeeds. One gauge per process. */
function overdueGauge(): Gauge<'region'> {
  return metricsOf(register).gauge(
    'sts_close_overdue_ticks',
    'Scheduled close ticks that failed in a row, per region (0 once the close succeeds)',
    ['region'],
  );
}

export class CloseScheduler {
  /** One scheduler acts among all instances (docs/ARCHITECTURE.md, "Scale-out"). */
  private readonly role: SingleActive;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly opts: typeof CLOSE_SCHEDULER_DEFAULTS;
  private readonly failures = new Map<string, { ticks: number; since: Date; lastError: string }>();
  private readonly gauge = overdueGauge();

  constructor(
    private readonly deps: CloseDeps,
    private readonly regions: string[],
    opts: Partial<typeof CLOSE_SCHEDULER_DEFAULTS> &
      Pick<CloseOptions, 'plan' | 'payoutsTopic'> = {},
    private readonly extra: Pick<CloseOptions, 'plan' | 'payoutsTopic'> = {
      plan: opts.plan,
      payoutsTopic: opts.payoutsTopic,
    },
  ) {
    this.opts = { ...CLOSE_SCHEDULER_DEFAULTS, ...opts };
    this.role = new SingleActive(deps.db, 'close-scheduler', deps.logger);
  }

  start(): void {
    const loop = () => {
      // A standby only asks for the role; the closes are the active instance's.
      this.running = this.role
        .active()
        .then((active) => (active ? this.tick() : undefined))
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.role.release();
  }

  /** Regions whose close failed at least escalateAfterTicks ticks in a row, with the last error. */
  overdue(): Array<{ region: string; failedTicks: number; since: Date; lastError: string }> {
    return [...this.failures]
      .filter(([, f]) => f.ticks >= this.opts.escalateAfterTicks)
      .map(([region, f]) => ({
        region,
        failedTicks: f.ticks,
        since: f.since,
        lastError: f.lastError,
      }));
  }

  /** One pass over the regions; returns the cycles it closed. */
  async tick(now = new Date()): Promise<Array<{ region: string; cycleId: bigint }>> {
    const closed: Array<{ region: string; cycleId: bigint }> = [];
    for (const region of this.regions) {
      const cutoff = cycleBounds(region, cycleIdFor(region, now)).startsAt;
      const cycleId = cycleIdFor(region, new Date(cutoff.getTime() - 1));
      const row = (await this.deps
        .db('settlement_cycle')
        .where({ region, cycle_id: cycleId.toString() })
        .first('status')) as { status: string } | undefined;
      if (row?.status === 'CLOSED') continue;
      try {
        // Drained to the tick: events of the cycle published a little after its cutoff are still paid in it.
        const result = await closeCycle(this.deps, {
          region,
          cutoff,
          now,
          drainUntil: new Date(),
          watermarkTimeoutMs: this.opts.watermarkTimeoutMs,
          ...this.extra,
        });
        if (!result.alreadyClosed) closed.push({ region, cycleId });
        this.failures.delete(region);
        this.gauge.set({ region }, 0);
      } catch (err) {
        const f = this.failures.get(region) ?? { ticks: 0, since: now, lastError: '' };
        f.ticks++;
        f.lastError = err instanceof Error ? err.message : String(err);
        this.failures.set(region, f);
        this.gauge.set({ region }, f.ticks);
        const expected =
          err instanceof WatermarkNotReachedError || err instanceof LockUnavailableError;
        if (f.ticks >= this.opts.escalateAfterTicks)
          this.deps.logger.error(
            {
              err,
              region,
              cycleId,
              code: 'STS_CLOSE_OVERDUE' satisfies ErrorCode,
              failedTicks: f.ticks,
              since: f.since.toISOString(),
            },
            `scheduled close of ${region} failed ${f.ticks} ticks in a row; still retrying. Fix: \`sts lag\` shows a STALLED partition holding the watermark, the error names anything else`,
          );
        else
          this.deps.logger[expected ? 'warn' : 'error'](
            { err, region, cycleId },
            expected
              ? 'scheduled close postponed to the next tick'
              : 'scheduled close failed; retrying next tick',
          );
      }
    }
    return closed;
  }
}
