import type { Knex } from '../../runtime/db/knex';
import type { Logger } from '../../runtime/logger';
import type { DelayQueue } from './delay-queue';

/**
 * Rebuilds the delay queue from the system of record: every SUBMITTED payout is queued unless it
 * is queued already (a present entry keeps its back-off). Runs at start, periodically, and as
 * soon as the queue's marker is gone (FLUSHALL, a failed-over Redis), so losing Redis loses no
 * payout. A freshly submitted payout is queued for `graceMs` after its submission, because the
 * lane that TRIED it is most likely calling the gateway right now.
 *
 * The query walks ix_payout_status_id (status, id): one index range per page of 1,000, in id
 * order, with the id as a typed integer literal (lesson 9). The hint is there because the older
 * ix_payout_status (status, updated_at) also matches `status = ?`, and with few SUBMITTED rows
 * the optimizer may pick it and then sort every SUBMITTED payout for each page.
 */
const PAGE = 1000;

export class QueueSweeper {
  constructor(
    private readonly deps: { db: Knex; queue: DelayQueue; logger: Logger; graceMs: number },
  ) {}

  /** Returns how many SUBMITTED payouts were missing from the queue and were added. */
  async sweep(): Promise<number> {
    const { db, queue, graceMs } = this.deps;
    // Marker first: a flush during the sweep deletes it, and the next look sweeps again.
    await queue.setMarker();
    let after = 0n;
    let added = 0;
    for (;;) {
      const [rows] = (await db.raw(
        `SELECT CAST(id AS CHAR) AS id, TIMESTAMPDIFF(MICROSECOND, updated_at, NOW(3)) AS age_us
           FROM payout FORCE INDEX (ix_payout_status_id)
          WHERE status = 'SUBMITTED' AND id > ${after.toString()} ORDER BY id LIMIT ${PAGE}`,
      )) as [Array<{ id: string; age_us: string | number }>];
      if (rows.length === 0) break;
      const now = Date.now();
      added += await queue.addMissing(
        rows.map((r) => ({
          id: BigInt(r.id),
          dueAtMs: now + Math.max(0, graceMs - Number(r.age_us) / 1000),
        })),
      );
      if (rows.length < PAGE) break;
      after = BigInt(rows[rows.length - 1]!.id);
    }
    if (added > 0) this.deps.logger.info({ added }, 'delay queue rebuilt from SUBMITTED payouts');
    return added;
  }
}
