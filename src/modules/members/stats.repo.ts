import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { PIECE_MS } from "../activity/spans";
import { wholeSecondSql } from "../time/time.db";

/** Local "today" and "this week" of one time zone, as UTC ms. */
export interface ZoneBounds {
  tz: string;
  dayStart: number;
  dayEnd: number;
  weekStart: number;
  weekEnd: number;
}

export interface StatsArgs {
  orgId: string;
  zones: ZoneBounds[];
  /**
   * `all` (default): everything below. `activity`: only what heartbeats change — presence, last
   * seen and today's active/idle time — for refreshing cached stats after an ingest.
   */
  part?: "all" | "activity";
}

/**
 * How today splits on UTC hours: `[h0, hs)` is the part-hour before the first whole hour `hs`,
 * `[hs, he)` the whole hours, `[he, dayEnd)` the part-hour after them. `he` never precedes `hs`, so
 * a period inside one UTC hour is counted once, from its pieces.
 */
function hours(z: ZoneBounds): [h0: number, hs: number, he: number] {
  const h0 = Math.floor(z.dayStart / PIECE_MS) * PIECE_MS;
  const hs = Math.ceil(z.dayStart / PIECE_MS) * PIECE_MS;
  return [h0, hs, Math.max(hs, Math.floor(z.dayEnd / PIECE_MS) * PIECE_MS)];
}

/**
 * Every member's stats in one statement: presence, tracked time of closed entries today and this
 * week (clipped to the member's local day and week, joined by time zone from the `z` rows), active
 * and idle time today, and the running timer. Members whose time zone is not among `zones` come back
 * with `day_start` null (the caller then retries with their zones).
 *
 * Per member, correlated subqueries read only what overlaps the period: closed entries from the
 * partial index on (member_id, end_at, start_at) — those ending after the week starts, read from
 * the index alone, summed for today and the week in one pass — and today's activity (`[active,
 * idle]` as one JSON pair, so it is read once). Measured on 1,000 members × 30 days this is about
 * half the time of grouped CTEs joined back to the members (no temporary B-trees or automatic
 * indexes). The result is one JSON text (see memberStats). The member ids come from the
 * organization's memberships, which scopes every read.
 *
 * Today's activity is the UTC hours wholly inside the day from activity_hours' primary key, plus
 * the span pieces of the part-hours at either end, clipped to the day: a local midnight is off the
 * UTC hour in zones like Asia/Kolkata (+05:30) or Asia/Kathmandu (+05:45), where whole rollup hours
 * would drop up to 45 minutes at one end and add them at the other. Pieces never cross a UTC hour,
 * so each part-hour is one short range of activity_spans' (member_id, start_at) index, not searched
 * at all where midnight is on the hour (`m.h0 < m.hs` is false before the index is touched). Entries need no such split: they are clipped to the day and
 * the week to the millisecond.
 */
export function statsSql(a: StatsArgs): SQL {
  const zones = JSON.stringify(
    a.zones.map((z) => [z.tz, z.dayStart, z.dayEnd, z.weekStart, z.weekEnd, ...hours(z)]),
  );
  // Today lies inside this week: one pass over the week's closed entries sums both.
  // Whole seconds of the times shown (integer division), as reports count entries: the totals agree.
  const clip = (from: string, to: string) =>
    `MAX(0, MIN(${wholeSecondSql("t.end_at")}, m.${to}) - MAX(${wholeSecondSql("t.start_at")}, m.${from}))`;
  const closed =
    sql.raw(`(SELECT json_array(COALESCE(SUM(${clip("ds", "de")}), 0), COALESCE(SUM(${clip("ws", "we")}), 0))
      FROM time_entries t WHERE t.member_id = m.id AND t.deleted_at IS NULL AND t.end_at IS NOT NULL
        AND t.end_at > m.ws AND t.start_at < m.we)`);
  const piece = (from: string, to: string) => {
    const ms = "MAX(0, MIN(s.end_at, m.de) - MAX(s.start_at, m.ds))";
    return `SELECT IIF(s.idle, 0, ${ms}), IIF(s.idle, ${ms}, 0) FROM activity_spans s
          WHERE m.${from} < m.${to} AND s.member_id = m.id AND s.start_at >= m.${from} AND s.start_at < m.${to}`;
  };
  const activity = sql.raw(`(SELECT json_array(COALESCE(SUM(a), 0), COALESCE(SUM(i), 0)) FROM (
        SELECT h.active_ms AS a, h.idle_ms AS i FROM activity_hours h
          WHERE h.member_id = m.id AND h.hour >= m.hs AND h.hour < m.he
        UNION ALL ${piece("h0", "hs")}
        UNION ALL ${piece("he", "de")}))`);
  const columns = a.part === "activity" ? ACTIVITY_COLUMNS : STATS_COLUMNS;
  const select =
    a.part === "activity"
      ? sql`SELECT m.id, m.status, m.status_changed_at, m.last_seen_at, m.ds AS day_start, ${activity} AS activity
    FROM m`
      : sql`SELECT m.id, m.user_id, m.role, m.display_name, m.user_name, m.timezone, m.status,
      m.status_changed_at, m.last_seen_at, m.ds AS day_start, ${closed} AS closed, ${activity} AS activity,
      r.id AS running_id, r.start_at AS running_start, r.project_id AS running_project_id,
      p.name AS running_project_name, r.description AS running_description,
      (SELECT week_start FROM org_settings WHERE org_id = ${a.orgId}) AS org_week_start
    FROM m
    LEFT JOIN time_entries r ON r.member_id = m.id AND r.end_at IS NULL AND r.deleted_at IS NULL
    LEFT JOIN projects p ON p.id = r.project_id`;
  const values = columns.map((c) => (c === "activity" || c === "closed" ? `json(s.${c})` : `s.${c}`));
  return sql`-- members.stats${sql.raw(a.part === "activity" ? " (activity)" : "")}
    WITH z(tz, ds, de, ws, we, h0, hs, he) AS (
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
        json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),
        json_extract(value, '$[6]'), json_extract(value, '$[7]')
      FROM json_each(${zones})
    ),
    m AS MATERIALIZED (
      SELECT ms.id, ms.user_id, ms.role, ms.display_name, ms.timezone, ms.status, ms.status_changed_at,
        ms.last_seen_at, u.name AS user_name, z.ds, z.de, z.ws, z.we, z.h0, z.hs, z.he
      FROM memberships ms JOIN users u ON u.id = ms.user_id LEFT JOIN z ON z.tz = ms.timezone
      WHERE ms.org_id = ${a.orgId}
    ),
    s AS (${select})
    SELECT json_group_array(json_array(${sql.raw(values.join(", "))})) AS rows FROM s`;
}

/** The columns of a stats row, in the order of each member's JSON array. */
const STATS_COLUMNS = [
  "id",
  "user_id",
  "role",
  "display_name",
  "user_name",
  "timezone",
  "status",
  "status_changed_at",
  "last_seen_at",
  "day_start",
  "closed",
  "activity",
  "running_id",
  "running_start",
  "running_project_id",
  "running_project_name",
  "running_description",
  "org_week_start",
] as const;
const ACTIVITY_COLUMNS = [
  "id",
  "status",
  "status_changed_at",
  "last_seen_at",
  "day_start",
  "activity",
] as const;

export interface StatsRow {
  id: string;
  user_id: string;
  role: string;
  display_name: string | null;
  user_name: string;
  timezone: string;
  status: string;
  status_changed_at: number | null;
  last_seen_at: number | null;
  day_start: number | null;
  /** `[today_ms, week_ms]` of closed entries, clipped to the member's day and week. */
  closed: [number, number];
  /** `[active_ms, idle_ms]` today. */
  activity: [number, number];
  running_id: string | null;
  running_start: number | null;
  running_project_id: string | null;
  running_project_name: string | null;
  running_description: string | null;
  org_week_start: string | null;
}

export type ActivityRow = Pick<StatsRow, (typeof ACTIVITY_COLUMNS)[number]>;

async function jsonRows<T>(db: Db, query: SQL, columns: readonly string[]): Promise<T[]> {
  const [row] = await db.all<{ rows: string }>(query);
  const members = JSON.parse(row?.rows ?? "[]") as unknown[][];
  return members.map((values) => Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])) as T);
}

/**
 * Runs the stats statement. The rows come back as one JSON array of arrays built by SQLite: 1,000
 * members × 18 columns as row objects cost the client ~20,000 property definitions (measured at
 * ~20% of an uncached stats request); one string and one JSON.parse do not.
 */
export function memberStats(db: Db, a: Omit<StatsArgs, "part">): Promise<StatsRow[]> {
  return jsonRows<StatsRow>(db, statsSql(a), STATS_COLUMNS);
}

/** Presence and today's activity of every member (the `activity` part of the stats statement). */
export function memberActivity(db: Db, a: Omit<StatsArgs, "part">): Promise<ActivityRow[]> {
  return jsonRows<ActivityRow>(db, statsSql({ ...a, part: "activity" }), ACTIVITY_COLUMNS);
}
