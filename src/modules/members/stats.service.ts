import type { Db } from "../../db/client";
import type { Presence } from "../../db/schema";
import {
  addDays,
  isTimeZone,
  localDate,
  localDayRange,
  startOfLocalDay,
  startOfWeek,
  type WeekStart,
  wholeSecond,
  wholeSecondsBetween,
} from "../../lib/time";
import type { MembersDeps, Viewer } from "./members.service";
import { STATS_TTL_MS, statsCache } from "./stats.cache";
import { memberActivity, memberStats, type StatsRow, type ZoneBounds } from "./stats.repo";

/*
 * GET /members/stats: every member's presence, tracked and active time, computed in one query per
 * organization and cached (stats.cache.ts); the view per viewer is built from the cache.
 */

interface RunningTimer {
  entryId: string;
  projectId: string | null;
  projectName: string | null;
  description: string | null;
  startAt: number;
}

/** One member as cached: closed-entry totals; the running timer's share is added when served. */
interface CachedMember {
  memberId: string;
  userId: string;
  role: string;
  name: string;
  displayName: string | null;
  timezone: string;
  status: Presence;
  statusChangedAt: number | null;
  lastSeenAt: number | null;
  bounds: ZoneBounds | null;
  closedTodayMs: number;
  closedWeekMs: number;
  activeMs: number;
  idleMs: number;
  running: RunningTimer | null;
}

interface CachedStats {
  /** When the whole of it was computed (the closed-entry totals are at most STATS_TTL_MS old). */
  computedAt: number;
  /** The activity version (stats.cache.ts) its presence and activity figures are current for. */
  activityVersion: string;
  members: CachedMember[];
}

/** Per organization: the time zones and week start seen last time, so the first query is usually right. */
const orgShape = new Map<string, { zones: Set<string>; weekStart: WeekStart }>();
const ORG_SHAPE_MAX = 10_000;

/** Today and this week in `tz` (a zone this runtime does not know counts as UTC, labelled as given). */
export function zoneBounds(label: string, now: Date, weekStart: WeekStart): ZoneBounds {
  const tz = isTimeZone(label) ? label : "UTC";
  const today = localDate(now, tz);
  const day = localDayRange(today, tz);
  const ws = startOfWeek(today, weekStart);
  return {
    tz: label,
    dayStart: day.start.getTime(),
    dayEnd: day.end.getTime(),
    weekStart: startOfLocalDay(ws, tz).getTime(),
    weekEnd: startOfLocalDay(addDays(ws, 7), tz).getTime(),
  };
}

function activityOf(pair: [number, number] | null): { activeMs: number; idleMs: number } {
  const [activeMs = 0, idleMs = 0] = pair ?? [];
  return { activeMs, idleMs };
}

const byName = (a: CachedMember, b: CachedMember) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;

/**
 * Computes every member's stats. One query when the organization's time zones and week start are
 * known from an earlier read in this process; otherwise the first answer tells them, and the query
 * runs once more with the right boundaries.
 */
async function computeStats(db: Db, orgId: string, now: Date, activityVersion: string): Promise<CachedStats> {
  const shape = orgShape.get(orgId) ?? { zones: new Set(["UTC"]), weekStart: "monday" as WeekStart };
  let rows: StatsRow[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const zones = [...shape.zones].map((tz) => zoneBounds(tz, now, shape.weekStart));
    rows = await memberStats(db, { orgId, zones });
    const weekStart = (rows[0]?.org_week_start ?? "monday") as WeekStart;
    const missing = rows.filter((r) => r.day_start === null).map((r) => r.timezone);
    if (weekStart === shape.weekStart && missing.length === 0) break;
    shape.weekStart = weekStart;
    shape.zones = new Set(rows.map((r) => r.timezone));
  }
  if (orgShape.size >= ORG_SHAPE_MAX) orgShape.clear();
  orgShape.set(orgId, {
    zones: new Set(rows.map((r) => r.timezone).concat("UTC")),
    weekStart: shape.weekStart,
  });
  const bounds = new Map<string, ZoneBounds>();
  const boundsOf = (tz: string) => {
    if (!bounds.has(tz)) bounds.set(tz, zoneBounds(tz, now, shape.weekStart));
    return bounds.get(tz) as ZoneBounds;
  };
  return {
    computedAt: now.getTime(),
    activityVersion,
    members: rows
      .map(
        (r): CachedMember => ({
          memberId: r.id,
          userId: r.user_id,
          role: r.role,
          name: r.display_name ?? r.user_name,
          displayName: r.display_name,
          timezone: r.timezone,
          status: r.status as Presence,
          statusChangedAt: r.status_changed_at,
          lastSeenAt: r.last_seen_at,
          bounds: r.day_start === null ? null : boundsOf(r.timezone),
          closedTodayMs: r.closed?.[0] ?? 0,
          closedWeekMs: r.closed?.[1] ?? 0,
          ...activityOf(r.activity),
          running: r.running_id
            ? {
                entryId: r.running_id,
                projectId: r.running_project_id,
                projectName: r.running_project_name,
                description: r.running_description,
                startAt: r.running_start as number,
              }
            : null,
        }),
      )
      .sort(byName),
  };
}

/**
 * Refreshes what heartbeats change (presence, last seen, today's active/idle time) in cached stats,
 * with the `activity` part of the stats statement; null when the cached figures cannot be reused:
 * older than the TTL, a member's day or week has turned since, or the member list changed.
 */
async function refreshActivity(
  db: Db,
  orgId: string,
  cached: CachedStats,
  now: Date,
  activityVersion: string,
): Promise<CachedStats | null> {
  if (now.getTime() - cached.computedAt >= STATS_TTL_MS) return null;
  const zones = new Map<string, ZoneBounds>();
  for (const m of cached.members) {
    if (!m.bounds) return null;
    zones.set(m.bounds.tz, m.bounds);
  }
  const weekStart = orgShape.get(orgId)?.weekStart;
  if (!weekStart) return null;
  for (const b of zones.values()) {
    const current = zoneBounds(b.tz, now, weekStart);
    if (current.dayStart !== b.dayStart || current.weekStart !== b.weekStart) return null;
  }
  const rows = await memberActivity(db, { orgId, zones: [...zones.values()] });
  if (rows.length !== cached.members.length) return null;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const members: CachedMember[] = [];
  for (const m of cached.members) {
    const r = byId.get(m.memberId);
    if (!r || r.day_start === null) return null;
    members.push({
      ...m,
      status: r.status as Presence,
      statusChangedAt: r.status_changed_at,
      lastSeenAt: r.last_seen_at,
      ...activityOf(r.activity),
    });
  }
  return { computedAt: cached.computedAt, activityVersion, members };
}

/** The last cached value parsed per organization: a hit whose text is unchanged skips JSON.parse. */
const parsed = new Map<string, { raw: string; stats: CachedStats }>();

function parse(orgId: string, raw: string): CachedStats {
  const memo = parsed.get(orgId);
  if (memo && memo.raw === raw) return memo.stats;
  const stats = JSON.parse(raw) as CachedStats;
  if (parsed.size >= ORG_SHAPE_MAX) parsed.clear();
  parsed.set(orgId, { raw, stats });
  return stats;
}

/**
 * The organization's stats from the 60 s cache. A heartbeat (activity version moved) refreshes only
 * presence and activity on top of the cached entry totals — one query, the `activity` part; any
 * other write (entries, timers, members, profiles) recomputes everything — one query.
 */
export async function loadStats(
  deps: MembersDeps,
  orgId: string,
): Promise<{ stats: CachedStats; cached: boolean }> {
  const { full, activity } = await statsCache.versions(deps.kv, orgId);
  const hit = await statsCache.get(deps.kv, orgId, full);
  const cached = hit ? parse(orgId, hit) : null;
  if (cached && cached.activityVersion === activity) return { stats: cached, cached: true };
  const now = deps.clock.now();
  const stats =
    (cached && (await refreshActivity(deps.db, orgId, cached, now, activity))) ??
    (await computeStats(deps.db, orgId, now, activity));
  const raw = JSON.stringify(stats);
  await statsCache.set(deps.kv, orgId, full, raw);
  parsed.set(orgId, { raw, stats });
  return { stats, cached: false };
}

const overlap = (start: number, end: number, from: number, to: number) =>
  Math.max(0, Math.min(end, to) - Math.max(start, from));

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface MemberStatsView {
  memberId: string;
  userId: string;
  name: string;
  role: string;
  timezone: string;
  status: Presence;
  statusChangedAt: string | null;
  lastSeenAt: string | null;
  trackedTodaySeconds: number | null;
  trackedWeekSeconds: number | null;
  activeSecondsToday: number | null;
  idleSecondsToday: number | null;
  activePercent: number | null;
  runningTimer: {
    entryId: string;
    projectId: string | null;
    projectName: string | null;
    description: string | null;
    startAt: string;
    seconds: number;
  } | null;
}

/**
 * What `viewer` sees of one member: presence for everyone; tracked time, activity and the running
 * timer only of themselves unless they hold `data:read_all`. A running timer counts up to `now`.
 */
export function statsView(m: CachedMember, viewer: Viewer, now: number): MemberStatsView {
  const base = {
    memberId: m.memberId,
    userId: m.userId,
    name: m.name,
    role: m.role,
    timezone: m.timezone,
    status: m.status,
    statusChangedAt: iso(m.statusChangedAt),
    lastSeenAt: iso(m.lastSeenAt),
  };
  if (!viewer.readAll && m.userId !== viewer.userId)
    return {
      ...base,
      trackedTodaySeconds: null,
      trackedWeekSeconds: null,
      activeSecondsToday: null,
      idleSecondsToday: null,
      activePercent: null,
      runningTimer: null,
    };
  const b = m.bounds;
  const r = m.running;
  // A running timer in the whole seconds it shows (as closed entries and reports count them).
  const [runStart, runNow] = r ? [wholeSecond(r.startAt), wholeSecond(now)] : [0, 0];
  const runToday = r && b ? overlap(runStart, runNow, b.dayStart, b.dayEnd) : 0;
  const runWeek = r && b ? overlap(runStart, runNow, b.weekStart, b.weekEnd) : 0;
  const observed = m.activeMs + m.idleMs;
  return {
    ...base,
    trackedTodaySeconds: Math.round((m.closedTodayMs + runToday) / 1000),
    trackedWeekSeconds: Math.round((m.closedWeekMs + runWeek) / 1000),
    activeSecondsToday: Math.round(m.activeMs / 1000),
    idleSecondsToday: Math.round(m.idleMs / 1000),
    activePercent: observed > 0 ? Math.round((m.activeMs / observed) * 1000) / 10 : null,
    runningTimer: r
      ? {
          entryId: r.entryId,
          projectId: r.projectId,
          projectName: r.projectName,
          description: r.description,
          startAt: new Date(r.startAt).toISOString(),
          seconds: Math.max(0, wholeSecondsBetween(r.startAt, now)),
        }
      : null,
  };
}
