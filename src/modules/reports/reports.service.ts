import { z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import { AppError, type FieldError } from "../../lib/errors";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import {
  addDays,
  dateSpan,
  localDate,
  localDayRange,
  startOfWeek,
  type WeekStart,
  wholeSecondsBetween,
} from "../../lib/time";
import type { Clock } from "../../ports/clock";
import { MAX_ENTRY_MS } from "../time/time.service";
import { readSettings } from "../tracking-settings/tracking-settings.service";
import * as repo from "./reports.repo";

/**
 * Reports over time entries, computed in SQL from local-day boundaries (lib/time, DST-safe).
 *
 * Attribution: an entry is cut at local midnights of the report's time zone; each part counts on
 * its own day (a 23:00–01:00 entry gives one hour to each day), and parts outside the report's days
 * are left out. Every grouping uses the same parts, so totals never depend on `groupBy`.
 * Rounding: `entry` scope rounds each part (an entry's duration within one local day) before
 * summing; `group` scope sums raw durations and rounds each figure shown (group, sub-group, grid
 * cell), and the total is the sum of the rounded groups so a table adds up. Running timers are
 * not reported until stopped (as Toggl does): a report does not change while you watch it.
 */
export const MAX_REPORT_DAYS = 366;
export const ROUNDING_MINUTES = [1, 5, 6, 10, 12, 15, 30, 60] as const;
export const DIMENSIONS = ["member", "project", "day", "week"] as const;

export interface ReportDeps {
  db: Db;
  clock: Clock;
}

/** Who reads: org-wide aggregates for data:read_all and read-only roles; detail needs data:read_all. */
export interface Viewer {
  orgId: string;
  memberId: string;
  readAll: boolean;
  orgAggregates: boolean;
}

export interface CommonQuery {
  tz?: string;
  weekStart?: WeekStart;
  rounding?: repo.RoundingMode;
  roundingMinutes?: string;
  roundingScope?: "entry" | "group";
  billable?: "true" | "false";
  memberIds?: string;
  projectIds?: string;
}

interface Rounding {
  mode: repo.RoundingMode;
  minutes: number | null;
  scope: "entry" | "group";
  unit: number;
}

const invalid = (errors: FieldError[]) => new AppError(422, "VALIDATION_FAILED", "Invalid query", { errors });

function rounding(q: CommonQuery): Rounding {
  const mode = q.rounding ?? "none";
  const minutes = mode === "none" ? null : Number(q.roundingMinutes ?? 15);
  return { mode, minutes, scope: q.roundingScope ?? "entry", unit: (minutes ?? 1) * 60_000 };
}

/** Rounds milliseconds to the unit (the same arithmetic as the SQL of per-entry rounding). */
export function roundMs(ms: number, r: Pick<Rounding, "mode" | "unit">): number {
  const u = r.unit;
  if (r.mode === "up") return Math.ceil(ms / u) * u;
  if (r.mode === "down") return Math.floor(ms / u) * u;
  if (r.mode === "nearest") return Math.floor((ms + u / 2) / u) * u;
  return ms;
}

const ids = (s: string | undefined) =>
  s
    ?.split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Whose entries the viewer may see: `undefined` means the whole organization. Members (and
 * viewers, for detail) see only themselves; asking for someone else is 403.
 */
function scopeMembers(v: Viewer, requested: string[] | undefined, aggregate: boolean): string[] | undefined {
  if (aggregate ? v.orgAggregates : v.readAll) return requested;
  if (requested?.some((id) => id !== v.memberId))
    throw new AppError(403, "FORBIDDEN", "You may only report on your own time (data:read_all needed)");
  return [v.memberId];
}

async function zoneAndWeek(deps: ReportDeps, orgId: string, q: CommonQuery) {
  if (q.tz && q.weekStart) return { tz: q.tz, weekStart: q.weekStart };
  const s = await readSettings(deps.db, orgId);
  return { tz: q.tz ?? s.timezone, weekStart: q.weekStart ?? s.weekStart };
}

function buckets(from: string, to: string, tz: string, weekStart: WeekStart): repo.DayBucket[] {
  if (to < from) throw invalid([{ path: "to", message: "must not be before from", code: "range" }]);
  if (addDays(from, MAX_REPORT_DAYS - 1) < to)
    throw invalid([
      { path: "to", message: `a report covers at most ${MAX_REPORT_DAYS} days`, code: "range" },
    ]);
  const days = dateSpan(from, to, MAX_REPORT_DAYS).map((date) => {
    const { start, end } = localDayRange(date, tz);
    return { date, start: start.getTime(), end: end.getTime(), week: startOfWeek(date, weekStart) };
  });
  // Day indices are computed against a 24-hour grid (reports.repo); DST moves days by an hour or
  // two, but a zone that skipped or repeated a whole date (Pacific/Apia, December 2011) cannot be.
  const first = days[0]?.start ?? 0;
  // Each day's start and end are checked: a skipped date alone (or last in the range) has no length.
  const off = (at: number, i: number) => Math.abs(at - first - i * 86_400_000) >= 43_200_000;
  if (days.some((d, i) => off(d.start, i) || off(d.end, i + 1)))
    throw invalid([
      {
        path: "tz",
        message: "skips or repeats a calendar day in this range; report on either side of it",
        code: "unsupported_zone_change",
      },
    ]);
  return days;
}

function filter(v: Viewer, q: CommonQuery, days: repo.DayBucket[], aggregate: boolean): repo.ReportFilter {
  return {
    orgId: v.orgId,
    days,
    memberIds: scopeMembers(v, ids(q.memberIds), aggregate),
    projectIds: ids(q.projectIds),
    billable: q.billable === undefined ? undefined : q.billable === "true",
    maxEntryMs: MAX_ENTRY_MS,
  };
}

const seconds = (ms: number) => Math.round(ms / 1000);

interface Figures {
  seconds: number;
  billableSeconds: number;
  rawSeconds: number;
  entries: number;
}

function figures(row: repo.GroupRow, r: Rounding): Figures {
  const rounded =
    r.mode === "none"
      ? [row.ms, row.billableMs]
      : r.scope === "entry"
        ? [row.rms, row.billableRms]
        : [roundMs(row.ms, r), roundMs(row.billableMs, r)];
  return {
    seconds: seconds(rounded[0] ?? 0),
    billableSeconds: seconds(rounded[1] ?? 0),
    rawSeconds: seconds(row.ms),
    entries: row.entries,
  };
}

async function labeller(deps: ReportDeps, orgId: string, dims: repo.Dimension[], rows: repo.GroupRow[]) {
  const keysOf = (d: repo.Dimension) =>
    [
      ...new Set(
        rows
          .flatMap((r) => [dims[0] === d ? r.g1 : null, dims[1] === d ? r.g2 : null])
          .filter((k) => k !== null),
      ),
    ] as string[];
  const members = dims.includes("member")
    ? await repo.memberLabels(deps.db, orgId, keysOf("member"))
    : new Map();
  const projects = dims.includes("project")
    ? await repo.projectLabels(deps.db, orgId, keysOf("project"))
    : new Map<string, { name: string; color: string }>();
  return (dim: repo.Dimension, key: string | null): string => {
    if (dim === "member") return (key && members.get(key)) ?? "(unknown member)";
    if (dim === "project") return key ? (projects.get(key)?.name ?? "(deleted project)") : "(no project)";
    return key ?? "";
  };
}

/** Days and weeks in calendar order; members and projects by name, "no project" last. */
function sortGroups<T extends { key: string | null; label: string }>(dim: repo.Dimension, list: T[]): T[] {
  if (dim === "day" || dim === "week") return list.sort((a, b) => (a.key ?? "").localeCompare(b.key ?? ""));
  return list.sort((a, b) =>
    a.key === null ? 1 : b.key === null ? -1 : a.label.localeCompare(b.label) || (a.key < b.key ? -1 : 1),
  );
}

/** `from` defaults to the first day of the current week in `tz`, `to` to six days after `from`. */
function range(deps: ReportDeps, q: { from?: string; to?: string }, tz: string, weekStart: WeekStart) {
  const from = q.from ?? startOfWeek(localDate(deps.clock.now(), tz), weekStart);
  return { from, to: q.to ?? addDays(from, 6) };
}

/** Sub-group rows (level 2) by their group key. */
function byGroup(rows: repo.GroupRow[]): Map<string | null, repo.GroupRow[]> {
  const out = new Map<string | null, repo.GroupRow[]>();
  for (const row of rows) if (row.level === 2) out.set(row.g1, [...(out.get(row.g1) ?? []), row]);
  return out;
}

export interface SummaryQuery extends CommonQuery {
  from?: string;
  to?: string;
  groupBy: repo.Dimension;
  subGroup?: repo.Dimension;
}

export async function summary(deps: ReportDeps, v: Viewer, q: SummaryQuery) {
  if (q.subGroup && q.subGroup === q.groupBy)
    throw invalid([{ path: "subGroup", message: "must differ from groupBy", code: "same_dimension" }]);
  const { tz, weekStart } = await zoneAndWeek(deps, v.orgId, q);
  const r = rounding(q);
  const { from, to } = range(deps, q, tz, weekStart);
  const days = buckets(from, to, tz, weekStart);
  const rows = await repo.groupTotals(deps.db, filter(v, q, days, true), {
    by: q.groupBy,
    sub: q.subGroup,
    rounding: r,
  });
  const label = await labeller(deps, v.orgId, q.subGroup ? [q.groupBy, q.subGroup] : [q.groupBy], rows);
  const subRows = byGroup(rows);
  const groups = sortGroups(
    q.groupBy,
    rows
      .filter((row) => row.level === 1)
      .map((row) => ({
        key: row.g1,
        label: label(q.groupBy, row.g1),
        ...figures(row, r),
        ...(q.subGroup
          ? {
              subGroups: sortGroups(
                q.subGroup,
                (subRows.get(row.g1) ?? []).map((s) => ({
                  key: s.g2,
                  label: label(q.subGroup as repo.Dimension, s.g2),
                  ...figures(s, r),
                })),
              ),
            }
          : {}),
      })),
  );
  const total = rows.find((row) => row.level === 0);
  const totals = total ? figures(total, r) : { seconds: 0, billableSeconds: 0, rawSeconds: 0, entries: 0 };
  if (r.scope === "group" && r.mode !== "none") {
    // The table adds up: the total is the sum of the rounded groups.
    totals.seconds = groups.reduce((n, g) => n + g.seconds, 0);
    totals.billableSeconds = groups.reduce((n, g) => n + g.billableSeconds, 0);
  }
  return {
    from,
    to,
    tz,
    weekStart,
    groupBy: q.groupBy,
    subGroup: q.subGroup ?? null,
    rounding: { mode: r.mode, minutes: r.minutes, scope: r.scope },
    totals,
    groups,
  };
}

export interface WeeklyQuery extends CommonQuery {
  week?: string;
}

/** Member × day grid of one week starting on `weekStart`; cells in seconds, rows and columns summed. */
export async function weekly(deps: ReportDeps, v: Viewer, q: WeeklyQuery) {
  const { tz, weekStart } = await zoneAndWeek(deps, v.orgId, q);
  const r = rounding(q);
  const first = startOfWeek(q.week ?? localDate(deps.clock.now(), tz), weekStart);
  const dates = dateSpan(first, addDays(first, 6));
  const days = buckets(first, addDays(first, 6), tz, weekStart);
  const rows = await repo.groupTotals(deps.db, filter(v, q, days, true), {
    by: "member",
    sub: "day",
    rounding: r,
  });
  const label = await labeller(deps, v.orgId, ["member", "day"], rows);
  const subRows = byGroup(rows);
  const members = sortGroups(
    "member",
    rows
      .filter((row) => row.level === 1)
      .map((row) => {
        const mine = new Map((subRows.get(row.g1) ?? []).map((s) => [s.g2, s]));
        const cells = dates.map((d) => {
          const cell = mine.get(d);
          return cell ? figures(cell, r).seconds : 0;
        });
        return {
          key: row.g1,
          memberId: row.g1 as string,
          label: label("member", row.g1),
          days: cells,
          totalSeconds: cells.reduce((a, b) => a + b, 0),
        };
      }),
  ).map(({ key: _key, ...m }) => m);
  const columns = dates.map((_, i) => members.reduce((n, m) => n + (m.days[i] ?? 0), 0));
  return {
    start: first,
    end: addDays(first, 6),
    tz,
    weekStart,
    days: dates,
    rounding: { mode: r.mode, minutes: r.minutes, scope: r.scope },
    members,
    totals: { days: columns, totalSeconds: columns.reduce((a, b) => a + b, 0) },
  };
}

export interface DetailedQuery extends CommonQuery {
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

const DetailCursor = z.object({ s: CursorInstant, i: z.string().max(64) });

/** The entries behind a report, whole, by start time; `roundedSeconds` rounds each entry. */
export async function detailed(deps: ReportDeps, v: Viewer, q: DetailedQuery) {
  const { tz, weekStart } = await zoneAndWeek(deps, v.orgId, q);
  const r = rounding(q);
  const { from, to } = range(deps, q, tz, weekStart);
  const days = buckets(from, to, tz, weekStart);
  const after = q.cursor ? decodeCursor(q.cursor, DetailCursor) : undefined;
  const rows = await repo.detailedEntries(deps.db, filter(v, q, days, false), {
    limit: q.limit,
    after: after ? { startAt: after.s, id: after.i } : undefined,
  });
  const page = pageOf(rows, q.limit, (e) => ({ s: e.startAt.getTime(), i: e.id }));
  const entryIds = page.data.map((e) => e.id);
  const [members, projects, tags] = await Promise.all([
    repo.memberLabels(deps.db, v.orgId, [...new Set(page.data.map((e) => e.memberId))]),
    repo.projectLabels(deps.db, v.orgId, [
      ...new Set(page.data.flatMap((e) => (e.projectId ? [e.projectId] : []))),
    ]),
    repo.entryTags(deps.db, entryIds),
  ]);
  const data = page.data.map((e) => {
    const ms = wholeSecondsBetween(e.startAt, e.endAt ?? e.startAt) * 1000;
    return {
      id: e.id,
      memberId: e.memberId,
      memberName: members.get(e.memberId) ?? "(unknown member)",
      projectId: e.projectId,
      projectName: e.projectId ? (projects.get(e.projectId)?.name ?? null) : null,
      description: e.description,
      billable: e.billable,
      start: e.startAt.toISOString(),
      end: e.endAt?.toISOString() ?? e.startAt.toISOString(),
      seconds: seconds(ms),
      roundedSeconds: seconds(roundMs(ms, r)),
      tags: tags.get(e.id) ?? [],
    };
  });
  return { from, to, tz, data, nextCursor: page.nextCursor };
}
