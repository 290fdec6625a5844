import { regionInfo } from '../money/regions';
import { ValidationError } from '../errors';

/**
 * The settlement calendar, as arithmetic: no lookup, so every instance derives the same answers.
 * Weekly cycles start Monday 00:00 in the region's own time zone. A cycle's id is that local date
 * as YYYYMMDD (e.g. 20261116n), so an id reads as a date in a query. The cycle rows themselves
 * (OPEN, CLOSING, CLOSED) are cycle-resolver.ts's business.
 */

/** The id of the cycle `at` falls in. */
export function cycleIdFor(region: string, at: Date): bigint {
  const info = regionInfo(region);
  if (!info) throw new ValidationError(`unknown region ${region}`, { region });
  const parts = localDateFormat(info.timeZone)
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => ((acc[p.type] = p.value), acc), {});
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!);
  // Calendar arithmetic on the local date at UTC noon: no DST edge can move it across a day.
  const local = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), 12));
  local.setUTCDate(local.getUTCDate() - weekday);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth() + 1;
  const d = local.getUTCDate();
  return BigInt(y * 10000 + m * 100 + d);
}

// Building an Intl.DateTimeFormat costs tens of microseconds; a million-row upload asks per row.
const formats = new Map<string, Intl.DateTimeFormat>();
function localDateFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short' });
    formats.set(timeZone, f);
  }
  return f;
}

/**
 * The UTC instants a cycle spans: [Monday 00:00 local, next Monday 00:00 local). Computed from the
 * id and the region's time zone, so a daylight-saving region (BR) gets 167- or 169-hour weeks.
 */
export interface CycleBounds {
  cycleId: bigint;
  startsAt: Date;
  cutoffAt: Date;
}

export function cycleBounds(region: string, cycleId: bigint): CycleBounds {
  const info = regionInfo(region);
  if (!info) throw new ValidationError(`unknown region ${region}`, { region });
  const n = Number(cycleId);
  const y = Math.floor(n / 10000);
  const m = Math.floor(n / 100) % 100;
  const d = n % 100;
  const startsAt = localMidnight(info.timeZone, y, m, d);
  const cutoffAt = localMidnight(info.timeZone, y, m, d + 7);
  if (cycleIdFor(region, startsAt) !== cycleId) {
    throw new ValidationError(`${cycleId} is not a cycle id in ${region}: cycles start on a Monday (YYYYMMDD)`, { region, cycleId });
  }
  return { cycleId, startsAt, cutoffAt };
}

/** The cycle after this one. */
export function nextCycleId(region: string, cycleId: bigint): bigint {
  return cycleIdFor(region, cycleBounds(region, cycleId).cutoffAt);
}

/** 00:00 on the given local date in `timeZone`, as a UTC instant. Day overflow rolls the month. */
export function localMidnight(timeZone: string, y: number, m: number, d: number): Date {
  const guess = Date.UTC(y, m - 1, d);
  // Two passes: the offset at the guess, then at the corrected instant, which differs only when
  // a DST change falls between them.
  let at = guess - offsetMs(timeZone, new Date(guess));
  at = guess - offsetMs(timeZone, new Date(at));
  return new Date(at);
}

function offsetMs(timeZone: string, at: Date): number {
  const p = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
    .formatToParts(at)
    .reduce<Record<string, number>>((acc, part) => ((acc[part.type] = Number(part.value)), acc), {});
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}
