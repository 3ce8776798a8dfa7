/**
 * Calendar arithmetic in IANA time zones (reports, timelines, "today" in stats). Every boundary is
 * computed as a UTC instant from a local wall-clock date, so days of 23 or 25 hours (DST changes)
 * come out right; SQL then groups UTC timestamps by those boundaries. @date-fns/tz does the zone
 * maths (it runs on Bun and on Workers, unlike Temporal, which workerd does not ship).
 */
import { TZDate, tzOffset } from "@date-fns/tz";

export type WeekStart = "monday" | "sunday" | "saturday";

const WEEKDAY_INDEX: Record<WeekStart, number> = { sunday: 0, monday: 1, saturday: 6 };
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `tz` is an IANA zone this runtime knows ("UTC" included). */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  const known = zoneValidity.get(tz);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    ok = true;
  } catch {
    ok = false;
  }
  // Building a DateTimeFormat costs ~10 µs; remember answers (bounded: names come from requests).
  if (zoneValidity.size >= 1024) zoneValidity.clear();
  zoneValidity.set(tz, ok);
  return ok;
}
const zoneValidity = new Map<string, boolean>();

/** Parses a calendar date `YYYY-MM-DD` (rejects 2026-02-30); null when invalid. */
export function parseLocalDate(date: string): { year: number; month: number; day: number } | null {
  const m = DATE_RE.exec(date);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day)
    return null;
  return { year, month, day };
}

/** The local calendar date of `instant` in `tz`, as `YYYY-MM-DD`. */
export function localDate(instant: Date, tz: string): string {
  const d = new TZDate(instant.getTime(), tz);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `YYYY-MM-DD` plus `n` calendar days (no zone involved). */
export function addDays(date: string, n: number): string {
  const p = mustParse(date);
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + n));
  return d.toISOString().slice(0, 10);
}

/** The UTC instant of local midnight starting `date` in `tz`. */
export function startOfLocalDay(date: string, tz: string): Date {
  const p = mustParse(date);
  // TZDate resolves a wall-clock time that does not exist (a spring-forward gap) to the next valid one.
  return new Date(new TZDate(p.year, p.month - 1, p.day, 0, 0, 0, 0, tz).getTime());
}

/** [start, end) of the local day `date` in `tz`: 23, 24 or 25 hours long. */
export function localDayRange(date: string, tz: string): { start: Date; end: Date } {
  return { start: startOfLocalDay(date, tz), end: startOfLocalDay(addDays(date, 1), tz) };
}

/** Day of week of a calendar date: 0 = Sunday … 6 = Saturday. */
export function weekday(date: string): number {
  const p = mustParse(date);
  return new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
}

/** The first calendar date of the week containing `date`, for weeks starting on `weekStart`. */
export function startOfWeek(date: string, weekStart: WeekStart): string {
  const back = (weekday(date) - WEEKDAY_INDEX[weekStart] + 7) % 7;
  return addDays(date, -back);
}

/**
 * The local hours of `date` in `tz` as UTC [start, end) ranges, each labelled with the local
 * wall-clock time and UTC offset at its start (so `hour` + `offset` name `start`). A bucket runs
 * from one local whole hour to the next and is also cut where the offset changes: 24 entries on
 * most days, 23 on a spring-forward day and 25 on a fall-back day (where "02:00" appears twice with
 * different offsets). Where the clock moves by 30 minutes (Australia/Lord_Howe) the hour it jumps
 * into or repeats is a half hour labelled by its first minute ("02:30" +11:00, "01:30" +10:30).
 */
export function localHours(
  date: string,
  tz: string,
): { hour: string; offset: string; start: Date; end: Date }[] {
  const { start, end } = localDayRange(date, tz);
  const out: { hour: string; offset: string; start: Date; end: Date }[] = [];
  const stop = end.getTime();
  // Walk in UTC rather than constructing wall-clock times: a local hour may be skipped, partly
  // skipped or repeated, and stepping by a fixed 3600 s only lands on local hours when every
  // change is a whole hour.
  for (let t = start.getTime(); t < stop; ) {
    const local = new TZDate(t, tz);
    const offset = tzOffset(tz, new Date(t));
    const intoHour = (local.getMinutes() * 60 + local.getSeconds()) * 1000 + local.getMilliseconds();
    // The next local whole hour if the offset holds; a change before it ends this bucket early.
    let next = Math.min(t + 3_600_000 - intoHour, stop);
    if (tzOffset(tz, new Date(next - 1)) !== offset) next = firstOffsetChange(tz, t, next - 1, offset);
    out.push({
      hour: `${pad(local.getHours())}:${pad(local.getMinutes())}`,
      offset: formatOffset(offset),
      start: new Date(t),
      end: new Date(next),
    });
    t = next;
  }
  return out;
}

/** The first ms in (lo, hi] whose offset in `tz` is not `offset`, given that hi's is not. */
function firstOffsetChange(tz: string, lo: number, hi: number, offset: number): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tzOffset(tz, new Date(mid)) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Local dates from `from` to `to` inclusive (`YYYY-MM-DD`), at most `max` of them. */
export function dateSpan(from: string, to: string, max = 366): string[] {
  const out: string[] = [];
  for (let d = from; d <= to && out.length < max; d = addDays(d, 1)) out.push(d);
  return out;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function mustParse(date: string) {
  const p = parseLocalDate(date);
  if (!p) throw new RangeError(`Not a calendar date: ${date}`);
  return p;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "14:05 CET": the wall-clock time of `at` in time zone `tz` (UTC when `tz` is not one). */
export function clockTime(at: Date, tz: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: isTimeZone(tz) ? tz : "UTC",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(at);
}

/** An instant (ms) truncated to its whole second, as a clock shows it. */
export const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/**
 * Seconds from `start` to `end` as a user reads them off the clock: both truncated to the whole
 * second (09:00:00.7 to 09:15:00.4 is 900 s). Entry durations, their events and reports all count so,
 * and so pieces of an entry add up to the entry and groups to the total.
 */
export function wholeSecondsBetween(start: Date | number, end: Date | number): number {
  const s = typeof start === "number" ? start : start.getTime();
  const e = typeof end === "number" ? end : end.getTime();
  return Math.floor(e / 1000) - Math.floor(s / 1000);
}
