import type { Knex } from 'knex';
import type { Logger } from '../logger';
import { Lease, type LeaseOptions } from './lease';

/**
 * One active instance of a periodic job among any number of instances of the pipeline: the
 * scheduled close, scheduled reconciliation and lag alerts are wanted once per pipeline, not once
 * per `sts run all`. The outbox relay's rule, for jobs that tick: whoever holds the role's lease
 * (lease.ts, renewed in the background between ticks) is active and runs its tick; the others
 * stand by and ask again at their next tick. When the active instance dies, its lease expires
 * within one TTL and the next standby to ask after that takes over.
 *
 * The role is checked with the database (`assertHeld`) on every tick, not trusted from memory: an
 * instance whose lease was taken over, or that was frozen while a standby took over, learns it
 * before acting, not after. What a tick does under the role either posts outside the database
 * (lag alerts) or takes its own lease and fences its writes with it (the close, reconciliation).
 */
export class SingleActive {
  private readonly lease: Lease;
  private wasActive = false;

  constructor(
    db: Knex,
    readonly role: string,
    private readonly logger: Logger,
    options: Omit<LeaseOptions, 'onLost'> = {},
  ) {
    this.lease = new Lease(db, `sts.role.${role}`, {
      ...options,
      onLost: (err) =>
        this.logger.warn({ err, role }, 'lost the role: its lease expired or was taken over'),
    });
  }

  /** True when this instance holds the role now: it may run the job's tick. Never throws. */
  async active(): Promise<boolean> {
    let now = false;
    try {
      if (this.lease.held) {
        try {
          await this.lease.assertHeld();
          now = true;
        } catch {
          // Lost while we were away (logged by onLost): try to take it again like any standby.
          now = await this.lease.tryAcquire();
        }
      } else {
        now = await this.lease.tryAcquire();
      }
    } catch (err) {
      // The database is unreachable: nobody can prove the role, so nobody acts on it here.
      this.logger.warn(
        { err, role: this.role },
        'cannot check the role with the database; standing by this tick',
      );
      now = false;
    }
    if (now !== this.wasActive)
      this.logger.info(
        { role: this.role },
        now
          ? 'active for this role: this instance runs it'
          : 'standing by: another instance runs this role',
      );
    this.wasActive = now;
    return now;
  }

  /** Gives the role up (on stop), so a standby takes it at its next tick. */
  async release(): Promise<void> {
    this.wasActive = false;
    await this.lease.release();
  }
}
