import type { ErrorCode } from '../../runtime/error-codes';
import type { GatewayClient } from '../../runtime/gateway/gateway-client';
import type { Logger } from '../../runtime/logger';
import type { DelayQueue } from './delay-queue';
import type { PaymentAttempts } from './payment-attempts';
import type { PaymentMetrics } from './payment-metrics';
import type { PaymentNotifyOptions } from './payment-options';
import type { QueueSweeper } from './queue-sweeper';

/**
 * The delay-queue compensator (docs/DESIGN.md, lesson 6): drives every payout the lane could not
 * finish to PAID or FAILED. It takes due entries from the queue (each hidden for a lease while it
 * is checked), asks the gateway by key, finalises or backs off (payment-attempts.ts), and keeps the
 * queue whole with the sweeper.
 *
 * States of a queued payout, as the compensator sees them:
 *   waiting    in the ZSET, due later (back-off, or the grace after submission)
 *   leased     taken by a worker; invisible until checked or until the lease ends (worker died)
 *   finished   final state and outbox row committed -> removed from the ZSET and attempts hash
 *   escalated  attempts exhausted: alerted + dead-lettered once, still checked at the longest
 *              back-off; or refused as malformed: removed and left to ops (blocked)
 *
 * No retry storm: it takes nothing while the breaker is not closed (the breaker watch sends the
 * single trial request), at most `compensatorConcurrency` checks run at once, and every unknown
 * outcome backs off exponentially with jitter.
 */
export interface CompensatorDeps {
  queue: DelayQueue;
  sweeper: QueueSweeper;
  attempts: PaymentAttempts;
  gateway: GatewayClient;
  metrics: PaymentMetrics;
  logger: Logger;
  options: PaymentNotifyOptions;
}

/** Failed rounds in a row after which the compensator logs at error level. */
const ESCALATE_AFTER_FAILURES = 5;

/** How often the queue's marker is checked for a flush, in ms. */
const MARKER_CHECK_MS = 1000;

export class Compensator {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(private readonly deps: CompensatorDeps) {}

  start(): void {
    if (this.loop) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the checks in flight; the rest of the queue waits for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await Promise.all([...this.inflight]);
  }

  private async run(): Promise<void> {
    const { queue, sweeper, gateway, options, logger, metrics } = this.deps;
    let nextSweepAt = 0;
    let nextMarkerCheckAt = 0;
    let failures = 0;
    while (this.running) {
      try {
        const now = Date.now();
        let sweep = now >= nextSweepAt;
        if (!sweep && now >= nextMarkerCheckAt) {
          nextMarkerCheckAt = now + MARKER_CHECK_MS;
          sweep = !(await queue.hasMarker());
          if (sweep)
            logger.warn(
              'delay queue marker is gone (Redis flushed?); rebuilding from the database',
            );
        }
        if (sweep) {
          await sweeper.sweep();
          nextSweepAt = Date.now() + options.sweepIntervalMs;
          metrics.queueSize.set(await queue.size());
        }
        if (gateway.breakerState !== 'closed') {
          await this.sleep(options.compensatorPollMs);
          continue;
        }
        const free = options.compensatorConcurrency - this.inflight.size;
        if (free <= 0) {
          await this.sleep(options.compensatorPollMs);
          continue;
        }
        const taken = await queue.take(Date.now(), free, Date.now() + options.queueLeaseMs);
        if (taken.length === 0) {
          await this.sleep(options.compensatorPollMs);
          continue;
        }
        for (const id of taken) {
          const check: Promise<void> = this.deps.attempts.recheck(id).finally(() => {
            this.inflight.delete(check);
            this.wake?.();
          });
          this.inflight.add(check);
        }
        failures = 0;
      } catch (err) {
        failures++;
        // A dependency outage, not a payout's fault: nothing to dead-letter, so it keeps
        // retrying (capped at 10 s), but past ESCALATE_AFTER_FAILURES rounds in a row it says so
        // at error level: no queued payout is being finalised meanwhile.
        if (failures >= ESCALATE_AFTER_FAILURES)
          logger.error(
            { err, failures, code: 'STS_COMPENSATOR_STALLED' satisfies ErrorCode },
            'compensator rounds keep failing (Redis or database unreachable); no queued payout is finalised until they answer; still retrying',
          );
        else
          logger.warn({ err, failures }, 'compensator round failed (Redis or database); retrying');
        await this.sleep(Math.min(10_000, options.compensatorPollMs * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** A sleep that stop() and a finished check cut short. */
  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
