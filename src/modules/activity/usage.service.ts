import type { Db } from "../../db/client";
import { AppError, type FieldError } from "../../lib/errors";
import { addDays, dateSpan, localDate, localDayRange, localHours } from "../../lib/time";
import { appUsage, timeline } from "./usage.repo";
import { MAX_USAGE_DAYS } from "./usage.routes";

const seconds = (ms: number) => Math.round(ms / 1000);
const iso = (ms: number) => new Date(ms).toISOString();

function invalid(path: string, message: string): AppError {
  return new AppError(422, "VALIDATION_FAILED", "Invalid query", {
    errors: [{ path, message, code: "invalid_value", location: "query" } as FieldError],
  });
}

/** The local days a usage request covers: `date`, or `from`..`to`, or today. */
export function usageDays(q: { date?: string; from?: string; to?: string }, tz: string, now: Date): string[] {
  if (q.date && (q.from || q.to)) throw invalid("date", "give either `date` or `from`/`to`, not both");
  if (q.from || q.to) {
    if (!q.from) throw invalid("from", "is required with `to`");
    if (!q.to) throw invalid("to", "is required with `from`");
    if (q.to < q.from) throw invalid("to", "must not be before `from`");
    if (addDays(q.from, MAX_USAGE_DAYS - 1) < q.to)
      throw invalid("to", `the range is at most ${MAX_USAGE_DAYS} days`);
    return dateSpan(q.from, q.to, MAX_USAGE_DAYS);
  }
  return [q.date ?? localDate(now, tz)];
}

export interface UsageItemView {
  name: string;
  activeSeconds: number;
  idleSeconds: number;
}

export async function memberAppUsage(
  db: Db,
  member: { id: string; orgId: string },
  days: string[],
  tz: string,
) {
  const buckets = days.map((d) => {
    const r = localDayRange(d, tz);
    return { label: d, start: r.start.getTime(), end: r.end.getTime() };
  });
  const rows = await appUsage(db, { orgId: member.orgId, memberId: member.id, days: buckets });
  const byDay = new Map(
    days.map((d) => [
      d,
      { date: d, activeMs: 0, idleMs: 0, apps: [] as UsageItemView[], domains: [] as UsageItemView[] },
    ]),
  );
  for (const r of rows) {
    const day = byDay.get(r.day);
    if (!day) continue;
    const item = { name: r.name, activeSeconds: seconds(r.active_ms), idleSeconds: seconds(r.idle_ms) };
    if (r.kind === "app") {
      day.apps.push(item);
      day.activeMs += r.active_ms;
      day.idleMs += r.idle_ms;
    } else day.domains.push(item);
  }
  return {
    memberId: member.id,
    tz,
    from: days[0] as string,
    to: days[days.length - 1] as string,
    days: [...byDay.values()].map((d) => ({
      date: d.date,
      activeSeconds: seconds(d.activeMs),
      idleSeconds: seconds(d.idleMs),
      apps: d.apps,
      domains: d.domains,
    })),
  };
}

/** One local day hour by hour (usually 23/24/25 of them, from localHours), bucketed in SQL. */
export async function memberTimeline(
  db: Db,
  member: { id: string; orgId: string },
  date: string,
  tz: string,
  now: Date,
) {
  const hours = localHours(date, tz);
  if (hours.length === 0) throw new AppError(422, "VALIDATION_FAILED", "Invalid date");
  const rows = await timeline(db, {
    orgId: member.orgId,
    memberId: member.id,
    hours: hours.map((h, i) => ({ label: i, start: h.start.getTime(), end: h.end.getTime() })),
    now: now.getTime(),
  });
  const out = hours.map((h) => ({
    hour: h.hour,
    offset: h.offset,
    start: h.start.toISOString(),
    end: h.end.toISOString(),
    activeMs: 0,
    idleMs: 0,
    trackedMs: 0,
    activity: [] as {
      start: string;
      end: string;
      app: string;
      title: string | null;
      url: string | null;
      domain: string | null;
      idle: boolean;
    }[],
    entries: [] as {
      entryId: string;
      projectId: string | null;
      description: string;
      billable: boolean;
      running: boolean;
      start: string;
      end: string;
    }[],
  }));
  for (const r of rows) {
    const h = out[r.hour];
    if (!h) continue;
    const ms = r.e - r.s;
    if (r.kind === "activity") {
      if (r.idle) h.idleMs += ms;
      else h.activeMs += ms;
      h.activity.push({
        start: iso(r.s),
        end: iso(r.e),
        app: r.app as string,
        title: r.title,
        url: r.url,
        domain: r.domain,
        idle: !!r.idle,
      });
    } else {
      h.trackedMs += ms;
      h.entries.push({
        entryId: r.id as string,
        projectId: r.project_id,
        description: r.description ?? "",
        billable: !!r.billable,
        running: !!r.running,
        start: iso(r.s),
        end: iso(r.e),
      });
    }
  }
  const total = (k: "activeMs" | "idleMs" | "trackedMs") => seconds(out.reduce((n, h) => n + h[k], 0));
  const first = hours[0] as (typeof hours)[number];
  const last = hours[hours.length - 1] as (typeof hours)[number];
  return {
    memberId: member.id,
    date,
    tz,
    start: first.start.toISOString(),
    end: last.end.toISOString(),
    totals: {
      activeSeconds: total("activeMs"),
      idleSeconds: total("idleMs"),
      trackedSeconds: total("trackedMs"),
    },
    hours: out.map(({ activeMs, idleMs, trackedMs, ...h }) => ({
      ...h,
      activeSeconds: seconds(activeMs),
      idleSeconds: seconds(idleMs),
      trackedSeconds: seconds(trackedMs),
    })),
  };
}
