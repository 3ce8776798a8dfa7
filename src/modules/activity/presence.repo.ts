import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import type { Presence } from "../../db/schema";
import { MAX_ENTRY_MS } from "../time/time.service";

/** No heartbeat for this long makes a member offline (fixed, SPEC 3). */
export const OFFLINE_AFTER_MS = 5 * 60_000;
const DEFAULT_IDLE_S = 300;
const DEFAULT_STALE_S = 3_600;

export interface StatusChange {
  id: string;
  org_id: string;
  user_id: string;
  from: Presence;
  to: Presence;
}

/**
 * Members not yet offline (`member_presence.online`, a partial index) whose last heartbeat was
 * received at or before `cutoff`.
 */
const quietSince = (cutoff: number) =>
  sql`SELECT member_id FROM member_presence WHERE online = 1 AND updated_at <= ${cutoff}`;

/** Active or idle members whose agents went quiet become offline. */
export function offlineSql(from: "active" | "idle", now: number): SQL {
  return sql`UPDATE memberships SET status = 'offline', status_changed_at = ${now}
    WHERE id IN (${quietSince(now - OFFLINE_AFTER_MS)}) AND status = ${from}
    RETURNING id, org_id, user_id, ${from} AS "from", 'offline' AS "to"`;
}

/**
 * Active members with no input for their organization's idle threshold become idle. Runs after the
 * offline step, so every member still online was seen within OFFLINE_AFTER_MS: that range keeps the
 * planner on the partial index.
 */
export function idleSql(now: number): SQL {
  return sql`UPDATE memberships SET status = 'idle', status_changed_at = ${now}
    WHERE id IN (
      SELECT p.member_id FROM member_presence p
      WHERE p.online = 1 AND p.updated_at > ${now - OFFLINE_AFTER_MS}
        AND (p.last_input_at IS NULL OR ${now} - p.last_input_at >=
        COALESCE((SELECT s.idle_threshold_seconds FROM org_settings s WHERE s.org_id = p.org_id),
          ${DEFAULT_IDLE_S}) * 1000)
    ) AND status = 'active'
    RETURNING id, org_id, user_id, 'active' AS "from", 'idle' AS "to"`;
}

/**
 * Applies time-based presence changes in one batch and returns them. Reads only members that are
 * not offline, through the partial index, never all memberships.
 */
export async function expirePresence(db: Db, now: number): Promise<StatusChange[]> {
  const items: BatchItem<"sqlite">[] = [
    db.all<StatusChange>(offlineSql("active", now)),
    db.all<StatusChange>(offlineSql("idle", now)),
    db.run(
      sql`UPDATE member_presence SET online = 0 WHERE online = 1 AND updated_at <= ${now - OFFLINE_AFTER_MS}`,
    ),
    db.all<StatusChange>(idleSql(now)),
  ];
  const out = await db.batch(items as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return [out[0], out[1], out[3]].flat() as StatusChange[];
}

export interface StaleTimer {
  id: string;
  org_id: string;
  member_id: string;
  start_at: number;
  /** Where to stop it: the member's last activity, never before the start nor past MAX_ENTRY_MS. */
  stop_at: number;
}

/**
 * Running timers of members who have an agent (a presence row) that has been silent, since the
 * later of its last heartbeat and the timer's start, for longer than the organization's
 * `staleTimerSeconds`. Reads the running-timer partial index, then each member's presence row.
 */
export function staleTimersSql(now: number): SQL {
  const threshold = sql`COALESCE((SELECT s.stale_timer_seconds FROM org_settings s WHERE s.org_id = te.org_id),
    ${DEFAULT_STALE_S}) * 1000`;
  return sql`SELECT te.id, te.org_id, te.member_id, te.start_at,
      MIN(MAX(p.last_activity_at, te.start_at), te.start_at + ${MAX_ENTRY_MS}) AS stop_at
    FROM time_entries te JOIN member_presence p ON p.member_id = te.member_id
    WHERE te.end_at IS NULL AND te.deleted_at IS NULL
      AND MAX(p.last_activity_at, te.start_at) < ${now} - ${threshold}
    LIMIT 500`;
}

export function findStaleTimers(db: Db, now: number): Promise<StaleTimer[]> {
  return db.all<StaleTimer>(staleTimersSql(now));
}

/** Stops one running timer at `stopAt`, flagged `stale_timer`; a no-op when it is no longer running. */
export function stopStaleTimer(db: Db, t: StaleTimer, now: number) {
  // A version later than any the entry had (time_entries.updatedAt only moves forward: see nextVersion).
  return db.run(sql`UPDATE time_entries SET end_at = ${t.stop_at}, flag = 'stale_timer', updated_at = max(${now}, updated_at + 1)
    WHERE id = ${t.id} AND org_id = ${t.org_id} AND end_at IS NULL AND deleted_at IS NULL`);
}
