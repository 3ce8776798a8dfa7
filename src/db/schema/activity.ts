import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { bool } from "./columns";
import { memberships } from "./identity";

/*
 * Activity tracking (SPEC 3): raw heartbeats from agents, the activity spans derived from them, an
 * hourly rollup and per-member presence facts. Times are integer milliseconds since the epoch (UTC)
 * because reads do interval arithmetic on them in SQL.
 *
 * `org_id` is stored for scoping but is not a foreign key: every row belongs to a membership and is
 * deleted with it (member_id cascades, and memberships cascade from organizations), so an index on
 * org_id would only cost writes on the hottest insert path.
 */

const ms = (name: string) => integer(name);

/**
 * Raw heartbeats, after the organization's privacy rules; spans are always rebuilt from these rows.
 *
 * `(member_id, time, client_id)` is the idempotency key: a heartbeat is its client id at its time,
 * so a retried batch inserts nothing. It is also the order the span rebuild reads, so one unique
 * index serves both. (Until migration 0006 a second unique index on `(member_id, client_id)` made
 * the id alone the key; agents' ids are typically random UUIDs, which land on a random leaf of that
 * index per insert: with it, storing a heartbeat cost 39 µs against 7.7 µs without it, and 11.2
 * against 6.4 µs with ids in order — `npm run bench:heartbeat-key`, 560k rows timed.)
 */
export const heartbeats = sqliteTable(
  "heartbeats",
  {
    id: integer("id").primaryKey(),
    orgId: text("org_id").notNull(),
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    clientId: text("client_id").notNull(),
    time: ms("time").notNull(),
    durationMs: integer("duration_ms").notNull(),
    app: text("app").notNull(),
    title: text("title"),
    url: text("url"),
    /** Host of `url` (lower case, without `www.`), for per-domain usage. */
    domain: text("domain"),
    idle: bool("idle").notNull(),
    keyboard: integer("keyboard"),
    mouse: integer("mouse"),
    receivedAt: ms("received_at").notNull(),
  },
  (t) => [uniqueIndex("heartbeats_member_time_uq").on(t.memberId, t.time, t.clientId)],
);

/**
 * Activity spans (ActivityWatch's heartbeat merge), stored as pieces that never cross a UTC hour
 * boundary, so a piece lasts at most one hour: interval reads need only look one hour back, and
 * each piece rolls up into exactly one hour of `activity_hours`. Pieces of one logical span share
 * `span_start`, `max_end`, `last_time`/`last_client_id` (the sort key of its last heartbeat) and
 * the data; an ingest resumes from the last span before its batch using those.
 */
export const activitySpans = sqliteTable(
  "activity_spans",
  {
    id: integer("id").primaryKey(),
    orgId: text("org_id").notNull(),
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    startAt: ms("start_at").notNull(),
    endAt: ms("end_at").notNull(),
    spanStart: ms("span_start").notNull(),
    /** Latest heartbeat end of the logical span before clipping at the next span's start. */
    maxEnd: ms("max_end").notNull(),
    lastTime: ms("last_time").notNull(),
    lastClientId: text("last_client_id").notNull(),
    app: text("app").notNull(),
    title: text("title"),
    url: text("url"),
    domain: text("domain"),
    idle: bool("idle").notNull(),
    /** Heartbeats merged into the logical span. */
    heartbeats: integer("heartbeats").notNull(),
  },
  (t) => [
    // Timeline, app usage and the rebuild's window: a member's pieces by start.
    index("activity_spans_member_start_idx").on(t.memberId, t.startAt),
    // The rebuild finds the last span before a batch by its last heartbeat's key.
    index("activity_spans_member_last_idx").on(t.memberId, t.lastTime, t.lastClientId),
  ],
);

/**
 * Active and idle milliseconds per member and UTC hour, kept in step with the pieces by each ingest.
 * A WITHOUT ROWID table (migration 0005; drizzle cannot declare it): rows are stored in primary-key
 * order, so summing a member's day reads one contiguous range with no second index to keep.
 */
export const activityHours = sqliteTable(
  "activity_hours",
  {
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    /** Start of the UTC hour (ms). */
    hour: ms("hour").notNull(),
    orgId: text("org_id").notNull(),
    activeMs: integer("active_ms").notNull(),
    idleMs: integer("idle_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.memberId, t.hour] })],
);

/**
 * What presence and the stale-timer job need about a member's latest heartbeats (times are the
 * agent's heartbeat times, capped at the server's clock, except `updated_at`: receipt time, the same
 * instant ingest writes to `memberships.last_seen_at`).
 */
export const memberPresence = sqliteTable(
  "member_presence",
  {
    memberId: text("member_id")
      .primaryKey()
      .references(() => memberships.id, { onDelete: "cascade" }),
    orgId: text("org_id").notNull(),
    /** Latest heartbeat end. */
    lastActivityAt: ms("last_activity_at").notNull(),
    /** Latest end of a heartbeat that showed input (not idle, and keyboard/mouse counts > 0 when sent). */
    lastInputAt: ms("last_input_at"),
    /**
     * Each agent (device) heard from in the last OFFLINE_AFTER_MS: a JSON object, agent token id →
     * `[newest heartbeat time, its idle flag (0/1), received at]`. The member is active only while
     * one of them says "not idle": a laptop left idle must not flip the member to idle on every batch
     * while they type on their desktop.
     */
    agents: text("agents").notNull().default("{}"),
    /**
     * Bumped by every ingest of the member. An ingest reads the member's spans, rebuilds them in
     * code and writes them back only if the version it read is still current (optimistic lock).
     */
    version: integer("version").notNull().default(0),
    /** Set by ingest, cleared when the presence job marks the member offline. */
    online: bool("online").notNull().default(false),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    // The presence job visits only members not yet offline, oldest heartbeat first.
    index("member_presence_online_idx").on(t.updatedAt).where(sql`${t.online} = 1`),
  ],
);
