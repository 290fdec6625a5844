import { regionInfo } from '../money/regions';
import { ValidationError } from '../errors';

/**
 * Weekly settlement cycles: a cycle starts Monday 00:00 in the region's own time zone. Its id is
 * that local date as YYYYMMDD (e.g. 20261116n), so every instance derives the same id for the
 * same instant with no lookup, and an id reads as a date in a query.
 */
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
