import { localMidnight } from '../../runtime/billing/cycle-calendar';
import { regionInfo } from '../../runtime/money/regions';
import { ValidationError } from '../../runtime/errors';

/**
 * A region's calendar day, as the daily effect rules count it: the date on the clock in the
 * region's own time zone (runtime/money/regions.ts), written YYYY-MM-DD. SG's 2026-11-16 is
 * [2026-11-15T16:00Z, 2026-11-16T16:00Z); BR's follows its daylight saving, so a day may last 23
 * or 25 hours. A sale, a cutoff or a pricing change starts at local midnight, so a UTC day would
 * split each of them over two days and blur the comparison.
 */

export interface DayRange {
  day: string;
  /** UTC, inclusive. */
  from: Date;
  /** UTC, exclusive: the next local midnight. */
  to: Date;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

// Building an Intl.DateTimeFormat costs tens of microseconds; keep one per zone.
const formats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    // en-CA writes dates as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formats.set(timeZone, f);
  }
  return f;
}

function zoneOf(region: string): string {
  const info = regionInfo(region);
  if (!info) throw new ValidationError(`unknown region ${region}`, { region });
  return info.timeZone;
}

/** The region's local date at `at`. */
export function localDay(region: string, at: Date): string {
  return dateFormat(zoneOf(region)).format(at);
}

/** `day` moved by `days` calendar days (negative: earlier), as calendar arithmetic at UTC noon. */
export function addDays(day: string, days: number): string {
  const [y, m, d] = parts(day);
  return new Date(Date.UTC(y, m - 1, d + days, 12)).toISOString().slice(0, 10);
}

/** "Monday" for a YYYY-MM-DD date. */
export function weekdayName(day: string): string {
  const [y, m, d] = parts(day);
  return new Date(Date.UTC(y, m - 1, d, 12)).toLocaleDateString('en-US', {
    weekday: 'long',
    timeZone: 'UTC',
  });
}

/** The UTC instants the region's local `day` spans. */
export function dayRange(region: string, day: string): DayRange {
  const zone = zoneOf(region);
  const [y, m, d] = parts(day);
  return { day, from: localMidnight(zone, y, m, d), to: localMidnight(zone, y, m, d + 1) };
}

export function isDay(text: string): boolean {
  const m = DAY.exec(text);
  return !!m && addDays(text, 0) === text;
}

function parts(day: string): [number, number, number] {
  const m = DAY.exec(day);
  if (!m) throw new ValidationError(`${day} is not a date (YYYY-MM-DD)`, { day });
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
