import { and, asc, eq, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { memberships, projects, tags, timeEntries, timeEntryTags, users } from "../../db/schema";
import { wholeSecondSql } from "../time/time.db";

/** One local calendar day of the report: its date, UTC [start, end) in ms, and its week's first date. */
export interface DayBucket {
  date: string;
  start: number;
  end: number;
  week: string;
}

export type Dimension = "member" | "project" | "day" | "week";
export type RoundingMode = "none" | "up" | "down" | "nearest";

export interface ReportFilter {
  orgId: string;
  days: DayBucket[];
  /** Undefined: every member. */
  memberIds?: string[];
  projectIds?: string[];
  billable?: boolean;
  /** No entry is longer than this: bounds the index range on `start_at`. */
  maxEntryMs: number;
}

const COLUMN: Record<Dimension, string> = {
  member: "member_id",
  project: "project_id",
  day: "di",
  week: "wk",
};

/**
 * An instant truncated to its whole second: reports count the seconds a user sees between an entry's
 * start and end (09:00:00.7 to 09:15:00.4 is 15:00, not 899.7 s that rounds down to nothing), and
 * in whole seconds the groups add up to the total. Same as `wholeSecondsBetween` (lib/time) elsewhere.
 */
const whole = (column: string) => sql.raw(wholeSecondSql(column));

/** Rounded duration of a piece, in SQL (integer division); `unit` is a whole number of minutes in ms. */
function roundedSql(mode: RoundingMode, unit: number): SQL {
  const u = sql.raw(String(Math.trunc(unit)));
  switch (mode) {
    case "up":
      return sql`((ms + ${u} - 1) / ${u}) * ${u}`;
    case "down":
      return sql`(ms / ${u}) * ${u}`;
    case "nearest":
      return sql`((ms + ${u} / 2) / ${u}) * ${u}`;
    default:
      return sql`ms`;
  }
}

const DAY_MS = 86_400_000;

/** `column IN (ids)` with the list as one JSON parameter: D1 binds at most 100 parameters. */
export const inJson = (column: SQLWrapper, ids: string[]): SQL =>
  sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
/** Integers generated here (never client input) are inlined, keeping the bound parameters few (D1: 100). */
const int = (n: number) => sql.raw(String(Math.trunc(n)));

/**
 * `ds(x)`: the UTC start of report day `x` as an SQL expression. Local days are 23–25 hours long, so
 * day x starts at `ds0 + x·24h + drift(x)`, where the drift (from DST changes) is constant over runs
 * of days; the runs are inlined as a CASE. Days before the report use the first drift (0).
 */
function dayStartSql(days: DayBucket[]): (x: SQL) => SQL {
  const ds0 = days[0]?.start ?? 0;
  const starts = [...days.map((d) => d.start), days[days.length - 1]?.end ?? ds0];
  const runs: { from: number; drift: number }[] = [];
  starts.forEach((start, i) => {
    const drift = start - (ds0 + i * DAY_MS);
    if (runs[runs.length - 1]?.drift !== drift) runs.push({ from: i, drift });
  });
  if (runs.some((r) => Math.abs(r.drift) >= DAY_MS / 2))
    throw new Error("local days drift by 12 hours or more from a 24-hour grid; not supported");
  return (x) => {
    const branches = runs
      .slice(1)
      .map((r, k) => sql`WHEN ${x} < ${int(r.from)} THEN ${int(runs[k]?.drift ?? 0)} `);
    const lastDrift = int(runs[runs.length - 1]?.drift ?? 0);
    const drift = branches.length ? sql`CASE ${sql.join(branches, sql``)}ELSE ${lastDrift} END` : lastDrift;
    return sql`(${int(ds0)} + (${x}) * ${int(DAY_MS)} + ${drift})`;
  };
}

/**
 * Each live, stopped entry overlapping the report, cut into one piece per local day it touches
 * (clipped at the day's [start, end), computed DST-safely in lib/time). An entry's day index is
 * arithmetic (a guess from a 24-hour grid, corrected by one against the exact day starts), so the
 * common entry that stays within one day costs O(1); only entries crossing a local midnight are
 * joined to the day list (as one JSON parameter). Running timers are not reported (no end yet).
 * `di` is the day's index in `days`; `wk` the index of its week (weeks start at `days[0].week`).
 */
function piecesCte(f: ReportFilter, rounding: { mode: RoundingMode; unit: number }): SQL {
  const first = f.days[0];
  const last = f.days[f.days.length - 1];
  if (!first || !last) throw new Error("a report needs at least one day");
  const ds = dayStartSql(f.days);
  // Day indices from a base far enough back that the integer division never sees a negative number.
  const back = Math.ceil(f.maxEntryMs / DAY_MS) + 2;
  const guess = (col: SQL) =>
    sql`((${col} - ${int(first.start - back * DAY_MS)}) / ${int(DAY_MS)} - ${int(back)})`;
  const exact = (col: SQL, g: SQL) => sql`${g} + (${col} >= ${ds(sql`${g} + 1`)}) - (${col} < ${ds(g)})`;
  const w0 = Math.round((Date.parse(first.date) - Date.parse(first.week)) / DAY_MS);
  const filters: SQL[] = [];
  // With a member filter, the (member_id, start_at) index is the narrow path: `+` keeps the planner
  // from preferring the organization-wide one.
  const org = f.memberIds ? sql`+e.org_id = ${f.orgId}` : sql`e.org_id = ${f.orgId}`;
  if (f.memberIds)
    filters.push(sql`AND e.member_id IN (SELECT value FROM json_each(${JSON.stringify(f.memberIds)}))`);
  if (f.projectIds)
    filters.push(sql`AND e.project_id IN (SELECT value FROM json_each(${JSON.stringify(f.projectIds)}))`);
  if (f.billable !== undefined) filters.push(sql`AND e.billable = ${f.billable ? 1 : 0}`);
  return sql`cand AS (
      SELECT e.id, e.member_id, e.project_id, e.billable, ${whole("e.start_at")} AS s, ${whole("e.end_at")} AS t,
             ${guess(whole("e.start_at"))} AS gs, ${guess(sql`${whole("e.end_at")} - 1`)} AS ge
      FROM ${timeEntries} e
      WHERE ${org}
        AND e.start_at >= ${int(first.start - f.maxEntryMs)} AND e.start_at < ${int(last.end)}
        AND e.end_at IS NOT NULL AND ${whole("e.end_at")} > ${int(first.start)} AND e.deleted_at IS NULL
        ${sql.join(filters, sql` `)}
    ),
    idx AS MATERIALIZED (
      SELECT id, member_id, project_id, billable, s, t,
             ${exact(sql`s`, sql`gs`)} AS si, ${exact(sql`t - 1`, sql`ge`)} AS ei
      FROM cand
    ),
    crossing(id, member_id, project_id, billable, s, t, di, last, first) AS (
      SELECT id, member_id, project_id, billable, s, t, MAX(si, 0), MIN(ei, ${int(f.days.length - 1)}), 1
      FROM idx WHERE ei > si
      UNION ALL
      SELECT id, member_id, project_id, billable, s, t, di + 1, last, 0 FROM crossing WHERE di < last
    ),
    pieces AS (
      SELECT member_id, project_id, billable, si AS di, t - s AS ms, 1 AS first FROM idx WHERE ei <= si
      UNION ALL
      SELECT member_id, project_id, billable, di, MIN(t, ${ds(sql`di + 1`)}) - MAX(s, ${ds(sql`di`)}), first
      FROM crossing
    ),
    pieces_r AS (
      SELECT *, (di + ${int(w0)}) / 7 AS wk, (first OR (di + ${int(w0)}) % 7 = 0) AS first_in_week,
             ${roundedSql(rounding.mode, rounding.unit)} AS rms
      FROM pieces
    )`;
}

export interface GroupRow {
  /** 0: grand total, 1: group, 2: sub-group. */
  level: number;
  g1: string | null;
  g2: string | null;
  /** Raw milliseconds; per-entry-rounded milliseconds; the same for billable entries only. */
  ms: number;
  rms: number;
  billableMs: number;
  billableRms: number;
  entries: number;
}

/**
 * Totals per group (and sub-group) in one statement: levels 0/1/2 via UNION ALL, so nothing but the
 * grouped rows leaves the database. `entries` counts distinct entries (a split entry counts once).
 */
export async function groupTotals(
  db: Db,
  f: ReportFilter,
  g: { by: Dimension; sub?: Dimension; rounding: { mode: RoundingMode; unit: number } },
): Promise<GroupRow[]> {
  const g1 = sql.raw(COLUMN[g.by]);
  const g2 = g.sub ? sql.raw(COLUMN[g.sub]) : sql`NULL`;
  // One GROUP BY at the finest level; groups and the total are added up below. Distinct entries
  // without COUNT(DISTINCT): an entry's pieces never share a day, share a week only inside it, and
  // share every other group, so each level counts the pieces that open the entry in its cell.
  const cells = await db.all<Record<string, number | string | null>>(sql`
    WITH ${piecesCte(f, g.rounding)}
    SELECT ${g1} AS g1, ${g2} AS g2, SUM(ms) AS ms, SUM(rms) AS rms,
           SUM(CASE WHEN billable THEN ms ELSE 0 END) AS bms, SUM(CASE WHEN billable THEN rms ELSE 0 END) AS brms,
           COUNT(*) AS n_day, SUM(first_in_week) AS n_week, SUM(first) AS n_entry
    FROM pieces_r GROUP BY ${g1}, ${g2}`);
  const counter = (dims: (Dimension | undefined)[]) =>
    dims.includes("day") ? "n_day" : dims.includes("week") ? "n_week" : "n_entry";
  // Day and week indices back to dates: day i is days[i]; week k starts 7k days after days[0].week.
  const key = (dim: Dimension | undefined, v: number | string | null | undefined): string | null => {
    if (v === null || v === undefined) return null;
    if (dim === "day") return f.days[Number(v)]?.date ?? null;
    if (dim === "week") {
      const w = new Date(`${f.days[0]?.week}T00:00:00Z`);
      w.setUTCDate(w.getUTCDate() + 7 * Number(v));
      return w.toISOString().slice(0, 10);
    }
    return String(v);
  };
  const rollup = (
    level: number,
    dims: (Dimension | undefined)[],
    keyOf: (c: (typeof cells)[number]) => string,
  ) => {
    const out = new Map<string, GroupRow>();
    const n = counter(dims);
    for (const c of cells) {
      const k = keyOf(c);
      const row = out.get(k) ?? {
        level,
        g1: level >= 1 ? key(g.by, c.g1) : null,
        g2: level === 2 ? key(g.sub, c.g2) : null,
        ms: 0,
        rms: 0,
        billableMs: 0,
        billableRms: 0,
        entries: 0,
      };
      row.ms += Number(c.ms ?? 0);
      row.rms += Number(c.rms ?? 0);
      row.billableMs += Number(c.bms ?? 0);
      row.billableRms += Number(c.brms ?? 0);
      row.entries += Number(c[n] ?? 0);
      out.set(k, row);
    }
    return [...out.values()];
  };
  const total = rollup(0, [], () => "");
  return [
    ...(total.length
      ? total
      : [{ level: 0, g1: null, g2: null, ms: 0, rms: 0, billableMs: 0, billableRms: 0, entries: 0 }]),
    ...rollup(1, [g.by], (c) => String(c.g1)),
    ...(g.sub ? rollup(2, [g.by, g.sub], (c) => `${String(c.g1)}\u0000${String(c.g2)}`) : []),
  ];
}

/** Display names of members (display name, else the user's name). */
export async function memberLabels(db: Db, orgId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: memberships.id, displayName: memberships.displayName, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), inJson(memberships.id, ids)));
  return new Map(rows.map((r) => [r.id, r.displayName ?? r.name]));
}

export async function projectLabels(db: Db, orgId: string, ids: string[]) {
  if (ids.length === 0) return new Map<string, { name: string; color: string }>();
  const rows = await db
    .select({ id: projects.id, name: projects.name, color: projects.color })
    .from(projects)
    .where(and(eq(projects.orgId, orgId), inJson(projects.id, ids)));
  return new Map(rows.map((r) => [r.id, { name: r.name, color: r.color }]));
}

/**
 * Entries overlapping the report's days, whole (not clipped), by start then id; keyset paginated.
 * Fetches `limit + 1`.
 */
export function detailedEntries(
  db: Db,
  f: ReportFilter,
  page: { limit: number; after?: { startAt: number; id: string } },
) {
  const first = f.days[0];
  const last = f.days[f.days.length - 1];
  if (!first || !last) throw new Error("a report needs at least one day");
  const after = page.after
    ? sql`(${timeEntries.startAt} > ${page.after.startAt} OR (${timeEntries.startAt} = ${page.after.startAt} AND ${timeEntries.id} > ${page.after.id}))`
    : undefined;
  return db
    .select()
    .from(timeEntries)
    .where(
      and(
        // With a member filter, (member_id, start_at) is the narrow index; `+` keeps the planner off the org's.
        f.memberIds ? sql`+${timeEntries.orgId} = ${f.orgId}` : eq(timeEntries.orgId, f.orgId),
        sql`${timeEntries.startAt} >= ${first.start - f.maxEntryMs}`,
        sql`${timeEntries.startAt} < ${last.end}`,
        sql`${timeEntries.endAt} IS NOT NULL AND ${timeEntries.endAt} > ${first.start}`,
        sql`${timeEntries.deletedAt} IS NULL`,
        f.memberIds ? inJson(timeEntries.memberId, f.memberIds) : undefined,
        f.projectIds ? inJson(timeEntries.projectId, f.projectIds) : undefined,
        f.billable !== undefined ? eq(timeEntries.billable, f.billable) : undefined,
        after,
      ),
    )
    .orderBy(asc(timeEntries.startAt), asc(timeEntries.id))
    .limit(page.limit + 1);
}

/** Tag names per entry, for a page of the detailed report. */
export async function entryTags(db: Db, entryIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (entryIds.length === 0) return out;
  const rows = await db
    .select({ entryId: timeEntryTags.entryId, name: tags.name })
    .from(timeEntryTags)
    .innerJoin(tags, eq(tags.id, timeEntryTags.tagId))
    .where(inJson(timeEntryTags.entryId, entryIds))
    .orderBy(asc(tags.name));
  for (const r of rows) out.set(r.entryId, [...(out.get(r.entryId) ?? []), r.name]);
  return out;
}
