import type { Knex } from 'knex';
import type { Logger } from '../logger';
import { NamedLock } from './named-lock';

/**
 * One active instance of a periodic job among any number of instances of the pipeline: the
 * scheduled close, scheduled reconciliation and lag alerts are wanted once per pipeline, not once
 * per `sts run all`. The outbox relay's rule, for jobs that tick: whoever holds the role's named
 * lock is active and runs its tick; the others stand by and ask again at their next tick. When
 * the active instance dies, MySQL ends its lock session and the next standby to ask takes over,
 * within one tick and with no lease to wait out.
 *
 * The role is checked with the server (`assertHeld`) on every tick, not trusted from memory: an
 * instance whose lock session was killed, or that was frozen while a standby took over, learns it
 * before acting, not after.
 */
export class SingleActive {
  private readonly lock: NamedLock;
  private wasActive = false;

  constructor(
    db: Knex,
    readonly role: string,
    private readonly logger: Logger,
  ) {
    this.lock = new NamedLock(db, `sts.role.${role}`);
  }

  /** True when this instance holds the role now: it may run the job's tick. Never throws. */
  async active(): Promise<boolean> {
    let now = false;
    try {
      if (this.lock.held) {
        try {
          await this.lock.assertHeld();
          now = true;
        } catch {
          // Lost while we were away: try to take it again like any standby.
          now = await this.lock.tryAcquire();
        }
      } else {
        now = await this.lock.tryAcquire();
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
    await this.lock.release();
  }
}
