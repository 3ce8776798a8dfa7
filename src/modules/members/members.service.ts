import type { Db } from "../../db/client";
import type { Presence } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { AppError } from "../../lib/errors";
import {
  addDays,
  isTimeZone,
  localDate,
  localDayRange,
  startOfLocalDay,
  startOfWeek,
  type WeekStart,
} from "../../lib/time";
import type { Clock } from "../../ports/clock";
import type { KvStore } from "../../ports/kv";
import "../activity/activity.events";
import {
  findMember,
  findMemberByUser,
  type MemberRow,
  memberStats,
  type StatsRow,
  updateProfile,
  type ZoneBounds,
} from "./members.repo";
import { statsCache } from "./stats.cache";

export interface MembersDeps {
  db: Db;
  clock: Clock;
  kv: KvStore;
  events: EventBus;
}

/** Who is asking, and whether they may see other members' tracked data. */
export interface Viewer {
  orgId: string;
  userId: string;
  readAll: boolean;
}

const notFound = () => new AppError(404, "MEMBER_NOT_FOUND", "No such member");

/** `me` or a membership id of the caller's organization (another organization's: 404). */
export async function resolveMember(
  db: Db,
  viewer: Pick<Viewer, "orgId" | "userId">,
  id: string,
): Promise<MemberRow> {
  const row =
    id === "me"
      ? await findMemberByUser(db, viewer.orgId, viewer.userId)
      : await findMember(db, viewer.orgId, id);
  if (!row) throw notFound();
  return row;
}

/** A member whose tracked data the viewer may read: themselves, or anyone with `data:read_all`. */
export async function readableMember(db: Db, viewer: Viewer, id: string): Promise<MemberRow> {
  const row = await resolveMember(db, viewer, id);
  if (row.userId !== viewer.userId && !viewer.readAll)
    throw new AppError(403, "FORBIDDEN", "Only managers and admins may read other members' activity");
  return row;
}

// ------------------------------------------------------------------ stats

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
  computedAt: number;
  members: CachedMember[];
}

/** Per organization: the time zones and week start seen last time, so the first query is usually right. */
const orgShape = new Map<string, { zones: Set<string>; weekStart: WeekStart }>();
const ORG_SHAPE_MAX = 10_000;

function activityOf(pair: [number, number] | null): { activeMs: number; idleMs: number } {
  const [activeMs = 0, idleMs = 0] = pair ?? [];
  return { activeMs, idleMs };
}

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

/**
 * Computes every member's stats. One query when the organization's time zones and week start are
 * known from an earlier read in this process; otherwise the first answer tells them, and the query
 * runs once more with the right boundaries.
 */
async function computeStats(db: Db, orgId: string, now: Date): Promise<CachedStats> {
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
  const byName = (a: CachedMember, b: CachedMember) =>
    a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : a.memberId < b.memberId
          ? -1
          : a.memberId > b.memberId
            ? 1
            : 0;
  return {
    computedAt: now.getTime(),
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

/** The organization's stats from the 60 s cache, computing (one query) on a miss. */
/** The last cached value parsed per organization: a hit whose text is unchanged skips JSON.parse. */
const parsed = new Map<string, { raw: string; stats: CachedStats }>();

export async function loadStats(
  deps: MembersDeps,
  orgId: string,
): Promise<{ stats: CachedStats; cached: boolean }> {
  const version = await statsCache.version(deps.kv, orgId);
  const hit = await statsCache.get(deps.kv, orgId, version);
  if (hit) {
    const memo = parsed.get(orgId);
    if (memo && memo.raw === hit) return { stats: memo.stats, cached: true };
    const stats = JSON.parse(hit) as CachedStats;
    if (parsed.size >= ORG_SHAPE_MAX) parsed.clear();
    parsed.set(orgId, { raw: hit, stats });
    return { stats, cached: true };
  }
  const stats = await computeStats(deps.db, orgId, deps.clock.now());
  const raw = JSON.stringify(stats);
  await statsCache.set(deps.kv, orgId, version, raw);
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
  const runToday = r && b ? overlap(r.startAt, now, b.dayStart, b.dayEnd) : 0;
  const runWeek = r && b ? overlap(r.startAt, now, b.weekStart, b.weekEnd) : 0;
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
          seconds: Math.max(0, Math.round((now - r.startAt) / 1000)),
        }
      : null,
  };
}

// ------------------------------------------------------------------ profile

export interface ProfileView {
  memberId: string;
  userId: string;
  name: string;
  displayName: string | null;
  timezone: string;
  role: string;
  status: Presence;
  lastSeenAt: string | null;
  updatedAt: string;
}

export function profileView(m: MemberRow): ProfileView {
  return {
    memberId: m.id,
    userId: m.userId,
    name: m.displayName ?? m.name,
    displayName: m.displayName,
    timezone: m.timezone,
    role: m.role,
    status: m.status,
    lastSeenAt: m.lastSeenAt?.toISOString() ?? null,
    updatedAt: m.updatedAt.toISOString(),
  };
}

/**
 * Changes a member's display name and/or time zone: the member themselves (with `own:write`) or a
 * manager/admin (`members:write`). Invalidates the organization's cached stats.
 */
export async function patchProfile(
  deps: MembersDeps,
  caller: { orgId: string; userId: string; canSelf: boolean; canOthers: boolean; actor: string },
  id: string,
  patch: { displayName?: string | null; timezone?: string },
): Promise<{ before: MemberRow; after: MemberRow; changes: string[] }> {
  const before = await resolveMember(deps.db, caller, id);
  const self = before.userId === caller.userId;
  if (self ? !caller.canSelf : !caller.canOthers)
    throw new AppError(
      403,
      "FORBIDDEN",
      self
        ? "Your role cannot edit your profile"
        : "Only managers and admins may edit other members' profiles",
    );
  const changes = (Object.keys(patch) as (keyof typeof patch)[]).filter(
    (k) => patch[k] !== undefined && patch[k] !== before[k],
  );
  if (changes.length === 0) return { before, after: before, changes };
  const now = deps.clock.now();
  if (!(await updateProfile(deps.db, caller.orgId, before.id, patch, now))) throw notFound();
  const after = { ...before, ...patch, updatedAt: now } as MemberRow;
  await deps.events.emit(
    deps.events.create(
      "member.profile_updated",
      { membershipId: before.id, userId: before.userId, changes },
      { orgId: caller.orgId, actor: caller.actor },
    ),
  );
  await statsCache.invalidate(deps.kv, caller.orgId);
  return { before, after, changes };
}
