import type { Knex } from 'knex';
import { isDuplicateKey } from '../db/duplicate-key';
import { NoOpenCycleError } from './billing-errors';
import { cycleBounds, cycleIdFor, nextCycleId } from './cycle-calendar';

/**
 * Decides which cycle a new billing item belongs to, inside the writer's transaction.
 *
 * An item belongs to the cycle of the instant it happened. If that cycle is already CLOSING or
 * CLOSED, its payouts are (being) snapshotted, so the item goes to the first OPEN cycle after it,
 * flagged late. The cycle row is read with a shared lock: `sts settle close` flips a cycle to
 * CLOSING with an exclusive lock, so a batch that saw OPEN has committed before the close's
 * snapshot starts, and a batch that starts after sees CLOSING. No item can slip between the
 * snapshot and the status change.
 *
 * One resolver per transaction: it memoises per (region, cycle) so a batch of 10k rows costs one
 * locking read per distinct cycle.
 */
export interface ResolvedCycle {
  cycleId: bigint;
  late: boolean;
}

/** More than ten years of consecutive closed cycles means the calendar, not the data, is wrong. */
const MAX_WALK = 520;

export class CycleResolver {
  private readonly memo = new Map<string, Promise<ResolvedCycle>>();

  constructor(private readonly trx: Knex.Transaction) {}

  resolve(region: string, at: Date): Promise<ResolvedCycle> {
    const natural = naturalCycle(region, at);
    const key = `${region}:${natural}`;
    let found = this.memo.get(key);
    if (!found) {
      found = this.walk(region, natural);
      this.memo.set(key, found);
    }
    return found;
  }

  private async walk(region: string, natural: bigint): Promise<ResolvedCycle> {
    let cycleId = natural;
    for (let i = 0; i < MAX_WALK; i++) {
      if ((await lockCycle(this.trx, region, cycleId)) === 'OPEN') return { cycleId, late: cycleId !== natural };
      cycleId = nextCycleId(region, cycleId);
    }
    throw new NoOpenCycleError(region, natural, MAX_WALK);
  }
}

/**
 * cycleIdFor formats the instant through Intl per call (microseconds each), and a busy processor
 * asks once per record for nearly always the same week. The bounds of the last cycle seen per
 * region answer those from two comparisons; the bounds come from cycleBounds, so the answer is
 * the calendar's own, DST weeks included.
 */
const lastBounds = new Map<string, { startMs: number; endMs: number; cycleId: bigint }>();

function naturalCycle(region: string, at: Date): bigint {
  const t = at.getTime();
  const hit = lastBounds.get(region);
  if (hit && t >= hit.startMs && t < hit.endMs) return hit.cycleId;
  const cycleId = cycleIdFor(region, at);
  const { startsAt, cutoffAt } = cycleBounds(region, cycleId);
  lastBounds.set(region, { startMs: startsAt.getTime(), endMs: cutoffAt.getTime(), cycleId });
  return cycleId;
}

/** The cycle's status under a shared lock, creating it OPEN on first use. */
export async function lockCycle(trx: Knex.Transaction, region: string, cycleId: bigint): Promise<string> {
  const read = async () =>
    (await trx.raw('SELECT status FROM settlement_cycle WHERE region = ? AND cycle_id = ? LOCK IN SHARE MODE', [region, cycleId.toString()]))[0] as Array<{ status: string }>;
  let rows = await read();
  if (rows.length === 0) {
    await ensureCycle(trx, region, cycleId);
    rows = await read();
  }
  return rows[0]!.status;
}

/**
 * Creates the cycle row OPEN if it is missing; a concurrent creator's row wins. A duplicate on the
 * primary key is that row; any other error (a region that does not fit its column) fails, which
 * INSERT IGNORE would have turned into a warning and a truncated region.
 */
export async function ensureCycle(db: Knex | Knex.Transaction, region: string, cycleId: bigint): Promise<void> {
  const { startsAt, cutoffAt } = cycleBounds(region, cycleId);
  try {
    await db.raw('INSERT INTO settlement_cycle (region, cycle_id, starts_at, cutoff_at, status) VALUES (?, ?, ?, ?, ?)', [
      region,
      cycleId.toString(),
      startsAt,
      cutoffAt,
      'OPEN',
    ]);
  } catch (err) {
    if (!isDuplicateKey(err, 'PRIMARY')) throw err;
  }
}
