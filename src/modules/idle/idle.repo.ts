import { and, desc, eq, gte, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type IdlePeriodStatus, idlePeriods, timeEntries } from "../../db/schema";
import { MAX_DURATION_SECONDS } from "../activity/activity.routes";
import { changedOneRow, type Item } from "../time/time.db";

export type IdlePeriodRow = typeof idlePeriods.$inferSelect;

/** `org_settings.idle_alert_seconds` when the organization has no row (the column default). */
const DEFAULT_ALERT_S = 1_800;
const alertSeconds = (orgId: SQL) =>
  sql`COALESCE((SELECT s.idle_alert_seconds FROM org_settings s WHERE s.org_id = ${orgId}), ${DEFAULT_ALERT_S})`;

/** Heartbeat `a` shows input, as ingest's `showsInput` decides it (ingest.repo.ts). */
const showsInput = (a: "h" | "l" | "e") =>
  sql.raw(
    `${a}.idle = 0 AND ((${a}.keyboard IS NULL AND ${a}.mouse IS NULL) OR COALESCE(${a}.keyboard, 0) + COALESCE(${a}.mouse, 0) > 0)`,
  );

export interface IdleCandidate {
  entry_id: string;
  org_id: string;
  member_id: string;
  user_id: string;
  /** The member's last input, or the timer's start when later. */
  idle_start: number;
}

/**
 * Running timers whose member has shown no input for the organization's `idleAlertSeconds` (from
 * the later of the last input and the timer's start), with no idle period in progress and none
 * already found at that start. Only members with an agent (a presence row) are watched. Reads the
 * running-timer partial index, then each member's presence row.
 */
export function idleCandidatesSql(now: number): SQL {
  const idleStart = sql`MAX(COALESCE(p.last_input_at, te.start_at), te.start_at)`;
  return sql`SELECT te.id AS entry_id, te.org_id, te.member_id, m.user_id, ${idleStart} AS idle_start
    FROM time_entries te
      JOIN member_presence p ON p.member_id = te.member_id
      JOIN memberships m ON m.id = te.member_id
    WHERE te.end_at IS NULL AND te.deleted_at IS NULL
      AND ${idleStart} <= ${now} - ${alertSeconds(sql`te.org_id`)} * 1000
      AND NOT EXISTS (SELECT 1 FROM idle_periods ip WHERE ip.member_id = te.member_id AND ip.end_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM idle_periods ip WHERE ip.entry_id = te.id AND ip.start_at = ${idleStart})
    LIMIT 500`;
}

export function findIdleCandidates(db: Db, now: number): Promise<IdleCandidate[]> {
  return db.all<IdleCandidate>(idleCandidatesSql(now));
}

export interface MissedPeriod {
  entry_id: string;
  org_id: string;
  member_id: string;
  user_id: string;
  idle_start: number;
  idle_end: number;
}

/** Rows per query of the missed-idle look; the job asks again while a query comes back full. */
export const MISSED_LIMIT = 500;

/**
 * Idle time the per-minute look at running timers cannot see: idle periods that ended before the
 * detector saw them in progress (input came back between two runs, less than a minute past the
 * threshold, or while the detector did not run at all). For each instant since `since` at which a
 * member's agent showed input after a gap of at least the organization's `idleAlertSeconds` since
 * its previous input (there must be one: the member was seen working), the timers that ran in that
 * gap — entries started with the timer, before the input came back, so no entry written afterwards
 * (a manual entry, a piece of a resolution) — give the idle time inside them (from the timer's start
 * if later, to its stop if earlier), kept when it reaches the threshold and overlaps no idle period
 * of the member already stored. Heartbeat ends count as presence counts them: capped at receipt.
 *
 * Cost: members whose agent is online (the online-presence index; a member who came back is online
 * until 5 minutes of silence), their input heartbeats since `since`, one per instant, each with one
 * backward seek on `(member_id, time)` to its previous input; only the gaps that pass read the hour
 * before that input for its exact end (a longer heartbeat that began earlier may end later).
 */
export function missedPeriodsSql(since: number): SQL {
  const end = (a: "l" | "e") => sql.raw(`MIN(${a}.time + ${a}.duration_ms, ${a}.received_at)`);
  const previous = (col: SQL) =>
    sql`(SELECT ${col} FROM heartbeats l WHERE l.member_id = r.member_id AND l.time < r.back_at AND ${showsInput("l")}
      ORDER BY l.time DESC LIMIT 1)`;
  return sql`WITH returns AS (
      SELECT DISTINCT p.member_id, p.org_id, h.time AS back_at
      FROM member_presence p INDEXED BY member_presence_online_idx
        CROSS JOIN heartbeats h ON h.member_id = p.member_id AND h.time > ${since}
      WHERE p.online = 1 AND p.updated_at > ${since} AND p.last_input_at > ${since} AND ${showsInput("h")}
    ), back AS (
      SELECT r.member_id, r.back_at, ${alertSeconds(sql`r.org_id`)} * 1000 AS alert_ms,
        ${previous(sql`l.time`)} AS last_start, ${previous(end("l"))} AS last_end
      FROM returns r
    ), gaps AS (
      SELECT b.member_id, b.back_at, b.alert_ms, (SELECT MAX(${end("e")}) FROM heartbeats e
          WHERE e.member_id = b.member_id AND e.time >= b.last_start - ${MAX_DURATION_SECONDS * 1000}
            AND e.time <= b.last_start AND ${showsInput("e")}) AS prev_end
      FROM back b
      WHERE b.last_start IS NOT NULL AND b.back_at - b.last_end >= b.alert_ms
    ), spans AS (
      SELECT g.*, te.id AS entry_id, te.org_id, te.start_at, te.end_at
      FROM gaps g CROSS JOIN time_entries te ON te.member_id = g.member_id
      WHERE te.end_at IS NULL AND te.deleted_at IS NULL AND te.start_at < g.back_at
        AND te.source = 'timer' AND te.created_at < g.back_at
      UNION ALL
      SELECT g.*, te.id, te.org_id, te.start_at, te.end_at
      FROM gaps g CROSS JOIN time_entries te ON te.member_id = g.member_id
      WHERE te.deleted_at IS NULL AND te.end_at IS NOT NULL AND te.end_at > g.prev_end
        AND te.start_at < g.back_at AND te.source = 'timer' AND te.created_at < g.back_at
    ), found AS (
      SELECT s.entry_id, s.org_id, s.member_id, s.alert_ms,
        MAX(s.prev_end, s.start_at) AS idle_start, MIN(s.back_at, COALESCE(s.end_at, s.back_at)) AS idle_end
      FROM spans s
    )
    SELECT f.entry_id, f.org_id, f.member_id, m.user_id, f.idle_start, f.idle_end
    FROM found f CROSS JOIN memberships m ON m.id = f.member_id
    WHERE f.idle_end - f.idle_start >= f.alert_ms
      AND NOT EXISTS (SELECT 1 FROM idle_periods ip WHERE ip.member_id = f.member_id
        AND ip.start_at < f.idle_end AND COALESCE(ip.end_at, f.idle_end) > f.idle_start)
    ORDER BY f.idle_start
    LIMIT ${MISSED_LIMIT}`;
}

export function findMissedPeriods(db: Db, since: number): Promise<MissedPeriod[]> {
  return db.all<MissedPeriod>(missedPeriodsSql(since));
}

export function insertPeriod(db: Db, row: typeof idlePeriods.$inferInsert): Item {
  return db.insert(idlePeriods).values(row);
}

export interface OngoingPeriod {
  id: string;
  org_id: string;
  member_id: string;
  entry_id: string;
  start_at: number;
  status: IdlePeriodStatus;
  alert_seconds: number;
  /** The entry's end (null while it runs); `entry_deleted` when it was deleted. */
  entry_end: number | null;
  entry_deleted: number;
  /** Start of the first heartbeat with input at or after `start_at`; null while none arrived. */
  first_input: number | null;
}

/** Where the facts end an idle period in progress: its first input since, or its entry's end. */
function earliestEnd(p: OngoingPeriod): number | null {
  const ends = [p.first_input, p.entry_end].filter((v): v is number => v !== null);
  return ends.length ? Math.max(p.start_at, Math.min(...ends)) : null;
}

/**
 * Where an idle period in progress stands: still going, ended at an instant, or withdrawn (its entry
 * was deleted, or late heartbeats showed input that leaves less idle time than the alert threshold).
 * A period already resolved (kept while it ran) is a record: never withdrawn, ended where the facts
 * end it, or at `now` when its entry is gone.
 */
export function periodOutcome(p: OngoingPeriod, now: number): { end: number } | "ongoing" | "withdrawn" {
  const end = earliestEnd(p);
  if (p.status !== "open") return end !== null ? { end } : p.entry_deleted ? { end: now } : "ongoing";
  if (p.entry_deleted) return "withdrawn";
  if (end === null) return "ongoing";
  return end - p.start_at < p.alert_seconds * 1000 ? "withdrawn" : { end };
}

/**
 * Idle periods still in progress (the partial unique index holds exactly those; CROSS JOIN keeps
 * them the outer loop whatever the statistics say), with what decides whether they ended: the first
 * input since they started (read from the heartbeats only when the member's presence shows input
 * after the start; a heartbeat uploaded late that began before the start but ran past it counts from
 * the start; ends capped at receipt as presence caps them, so the heartbeat whose capped end set the
 * start — an agent clock ahead, a heartbeat sent before its end — does not end it), and the entry's end. `id`: only that period.
 */
export function ongoingPeriodsSql(id?: string): SQL {
  return sql`SELECT ip.id, ip.org_id, ip.member_id, ip.entry_id, ip.start_at, ip.status,
      ${alertSeconds(sql`ip.org_id`)} AS alert_seconds,
      te.end_at AS entry_end, te.deleted_at IS NOT NULL AS entry_deleted,
      CASE WHEN p.last_input_at > ip.start_at THEN (
        SELECT MIN(MAX(h.time, ip.start_at)) FROM heartbeats h
        WHERE h.member_id = ip.member_id AND h.time > ip.start_at - ${MAX_DURATION_SECONDS * 1000}
          AND MIN(h.time + h.duration_ms, h.received_at) > ip.start_at AND ${showsInput("h")}
      ) END AS first_input
    FROM idle_periods ip
      CROSS JOIN time_entries te ON te.id = ip.entry_id
      LEFT JOIN member_presence p ON p.member_id = ip.member_id
    WHERE ip.end_at IS NULL ${id === undefined ? sql`` : sql`AND ip.id = ${id}`}
    LIMIT 1000`;
}

export function findOngoingPeriods(db: Db): Promise<OngoingPeriod[]> {
  return db.all<OngoingPeriod>(ongoingPeriodsSql());
}

/** One period if it is still in progress, with the facts of `findOngoingPeriods`. */
export async function findOngoingPeriod(db: Db, id: string): Promise<OngoingPeriod | null> {
  const [row] = await db.all<OngoingPeriod>(ongoingPeriodsSql(id));
  return row ?? null;
}

/** Ends a period still in progress; the guard aborts the batch when it no longer is. */
export function endPeriodItems(db: Db, id: string, endAt: Date, now: Date): Item[] {
  return [
    db
      .update(idlePeriods)
      .set({ endAt, updatedAt: now })
      .where(and(eq(idlePeriods.id, id), isNull(idlePeriods.endAt))),
    changedOneRow(db),
  ];
}

/** Removes a period still in progress (its entry is gone, or it turned out shorter than the alert). */
export function withdrawPeriodItems(db: Db, id: string): Item[] {
  return [
    db.delete(idlePeriods).where(and(eq(idlePeriods.id, id), isNull(idlePeriods.endAt))),
    changedOneRow(db),
  ];
}

/** A period of the organization whose entry is live, with that entry's owner. */
export async function findPeriod(db: Db, orgId: string, id: string): Promise<IdlePeriodRow | null> {
  const [row] = await db
    .select({ p: idlePeriods })
    .from(idlePeriods)
    .innerJoin(timeEntries, eq(timeEntries.id, idlePeriods.entryId))
    .where(and(eq(idlePeriods.orgId, orgId), eq(idlePeriods.id, id), isNull(timeEntries.deletedAt)))
    .limit(1);
  return row?.p ?? null;
}

/**
 * Marks an open period resolved; the guard aborts the batch unless it is still open with the end
 * that was read (the detector may have ended it meanwhile, or another resolution won).
 */
export function resolvePeriodItems(
  db: Db,
  read: IdlePeriodRow,
  set: {
    status: IdlePeriodStatus;
    endAt: Date | null;
    resolvedAt: Date;
    resolvedBy: string;
    newEntryId: string | null;
  },
): Item[] {
  return [
    db
      .update(idlePeriods)
      .set({ ...set, updatedAt: set.resolvedAt })
      .where(
        and(
          eq(idlePeriods.id, read.id),
          eq(idlePeriods.status, "open"),
          read.endAt ? eq(idlePeriods.endAt, read.endAt) : isNull(idlePeriods.endAt),
        ),
      ),
    changedOneRow(db),
  ];
}

export interface PeriodFilter {
  /** Undefined: every member of the organization. */
  memberId?: string;
  status?: IdlePeriodStatus;
  from?: Date;
  to?: Date;
  after?: { startAt: number; id: string };
  limit: number;
}

/** Periods of live entries, newest start first; `from`/`to` bound the start. Fetches `limit + 1`. */
export async function listPeriods(db: Db, orgId: string, f: PeriodFilter): Promise<IdlePeriodRow[]> {
  const after = f.after
    ? or(
        lt(idlePeriods.startAt, new Date(f.after.startAt)),
        and(eq(idlePeriods.startAt, new Date(f.after.startAt)), lt(idlePeriods.id, f.after.id)),
      )
    : undefined;
  const rows = await db
    .select({ p: idlePeriods })
    .from(idlePeriods)
    .innerJoin(timeEntries, eq(timeEntries.id, idlePeriods.entryId))
    .where(
      and(
        // One member's periods: `+` keeps the planner on (member_id, start_at); the org still scopes.
        f.memberId ? sql`+${idlePeriods.orgId} = ${orgId}` : eq(idlePeriods.orgId, orgId),
        f.memberId ? eq(idlePeriods.memberId, f.memberId) : undefined,
        isNull(timeEntries.deletedAt),
        f.status ? eq(idlePeriods.status, f.status) : undefined,
        f.from ? gte(idlePeriods.startAt, f.from) : undefined,
        f.to ? lt(idlePeriods.startAt, f.to) : undefined,
        after,
      ),
    )
    .orderBy(desc(idlePeriods.startAt), desc(idlePeriods.id))
    .limit(f.limit + 1);
  return rows.map((r) => r.p);
}

export interface AlertMailFacts {
  status: IdlePeriodStatus;
  end_at: number | null;
  start_at: number;
  email_on: number;
  email: string;
  name: string;
  display_name: string | null;
  timezone: string;
  description: string;
  project: string | null;
}

/** What the idle-alert email needs, read when it is sent (the period may have ended or been resolved). */
export async function alertMailFacts(db: Db, id: string): Promise<AlertMailFacts | null> {
  const [row] = await db.all<AlertMailFacts>(sql`SELECT ip.status, ip.end_at, ip.start_at,
      COALESCE(s.idle_alert_email, 0) AS email_on, u.email, u.name, m.display_name, m.timezone,
      te.description, pr.name AS project
    FROM idle_periods ip
      JOIN memberships m ON m.id = ip.member_id
      JOIN users u ON u.id = m.user_id
      JOIN time_entries te ON te.id = ip.entry_id
      LEFT JOIN projects pr ON pr.id = te.project_id
      LEFT JOIN org_settings s ON s.org_id = ip.org_id
    WHERE ip.id = ${id} AND te.deleted_at IS NULL`);
  return row ?? null;
}
