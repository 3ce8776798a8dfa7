import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { MAX_ENTRY_MS } from "../time/time.service";
import { PIECE_MS } from "./ingest.repo";

/*
 * The activity reads. Each hot query has a builder returning its SQL (for EXPLAIN QUERY PLAN tests)
 * and a runner. Boundaries (local days, local hours) are computed by src/lib/time.ts and passed in
 * as one JSON parameter, so SQL only compares integers and 23/25-hour days need nothing special.
 *
 * Interval reads stay on an index range: a span piece never crosses a UTC hour, so pieces
 * overlapping [from, to) start in [from - 1 h, to); a time entry lasts at most MAX_ENTRY_MS (the time
 * module stops longer timers there), so entries overlapping a range start at most that much earlier.
 */

/** A half-open UTC range [start, end) in ms, labelled. */
export interface Bucket {
  label: string | number;
  start: number;
  end: number;
}

const buckets = (list: Bucket[]) => JSON.stringify(list.map((b) => [b.label, b.start, b.end]));

const bucketCte = (list: Bucket[]) => sql`b(label, bs, be) AS (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
    FROM json_each(${buckets(list)}))`;

export interface UsageArgs {
  orgId: string;
  memberId: string;
  /** Local days of the report. */
  days: Bucket[];
}

/** Active and idle ms per local day and app, and per day and domain, from the member's span pieces. */
export function appUsageSql(a: UsageArgs): SQL {
  const from = Math.min(...a.days.map((d) => d.start));
  const to = Math.max(...a.days.map((d) => d.end));
  const overlap = sql`MIN(s.end_at, b.be) - MAX(s.start_at, b.bs)`;
  const branch = (kind: "app" | "domain") => sql`
    SELECT b.label AS day, ${kind} AS kind, s.${sql.raw(kind)} AS name,
      SUM(CASE WHEN s.idle THEN 0 ELSE ${overlap} END) AS active_ms,
      SUM(CASE WHEN s.idle THEN ${overlap} ELSE 0 END) AS idle_ms
    FROM activity_spans s JOIN b ON s.start_at < b.be AND s.end_at > b.bs
    WHERE s.member_id = ${a.memberId} AND s.org_id = ${a.orgId}
      AND s.start_at >= ${from - PIECE_MS} AND s.start_at < ${to}
      ${kind === "domain" ? sql`AND s.domain IS NOT NULL` : sql``}
    GROUP BY b.label, s.${sql.raw(kind)}`;
  return sql`WITH ${bucketCte(a.days)}
    ${branch("app")}
    UNION ALL
    ${branch("domain")}
    ORDER BY day, kind, active_ms DESC, name`;
}

export interface UsageRow {
  day: string;
  kind: "app" | "domain";
  name: string;
  active_ms: number;
  idle_ms: number;
}

export function appUsage(db: Db, a: UsageArgs): Promise<UsageRow[]> {
  return db.all<UsageRow>(appUsageSql(a));
}

export interface TimelineArgs {
  orgId: string;
  memberId: string;
  /** Local hours of the day (labels are their indexes). */
  hours: Bucket[];
  now: number;
}

/**
 * Activity pieces and time entries of one local day, each clipped to and labelled with the local
 * hour it falls in (a running entry counts up to now). `+te.org_id` keeps the planner on the
 * member's index rather than the organization's.
 */
export function timelineSql(a: TimelineArgs): SQL {
  const from = Math.min(...a.hours.map((h) => h.start));
  const to = Math.max(...a.hours.map((h) => h.end));
  const entryEnd = sql`MIN(COALESCE(te.end_at, ${a.now}), te.start_at + ${MAX_ENTRY_MS})`;
  return sql`WITH ${bucketCte(a.hours)}
    SELECT b.label AS hour, 'activity' AS kind, MAX(s.start_at, b.bs) AS s, MIN(s.end_at, b.be) AS e,
      s.idle AS idle, s.app AS app, s.title AS title, s.url AS url, s.domain AS domain,
      NULL AS id, NULL AS project_id, NULL AS description, NULL AS billable, NULL AS running
    FROM activity_spans s JOIN b ON s.start_at < b.be AND s.end_at > b.bs
    WHERE s.member_id = ${a.memberId} AND s.org_id = ${a.orgId} AND s.end_at > s.start_at
      AND s.start_at >= ${from - PIECE_MS} AND s.start_at < ${to}
    UNION ALL
    SELECT b.label, 'entry', MAX(te.start_at, b.bs), MIN(${entryEnd}, b.be),
      NULL, NULL, NULL, NULL, NULL, te.id, te.project_id, te.description, te.billable, te.end_at IS NULL
    FROM time_entries te JOIN b ON te.start_at < b.be AND ${entryEnd} > b.bs
    WHERE te.member_id = ${a.memberId} AND +te.org_id = ${a.orgId} AND te.deleted_at IS NULL
      AND te.start_at >= ${from - MAX_ENTRY_MS} AND te.start_at < ${to}
    ORDER BY 1, 3, 2`;
}

export interface TimelineRow {
  hour: number;
  kind: "activity" | "entry";
  s: number;
  e: number;
  idle: number | null;
  app: string | null;
  title: string | null;
  url: string | null;
  domain: string | null;
  id: string | null;
  project_id: string | null;
  description: string | null;
  billable: number | null;
  running: number | null;
}

export function timeline(db: Db, a: TimelineArgs): Promise<TimelineRow[]> {
  return db.all<TimelineRow>(timelineSql(a));
}
