import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { bool, ts } from "./columns";
import { memberships, organizations, users } from "./identity";

export const TIMER_MODES = ["stop_previous", "refuse"] as const;
export const OVERLAP_POLICIES = ["allow", "refuse"] as const;
export const WEEK_STARTS = ["monday", "sunday", "saturday"] as const;

/**
 * Per-organization tracking settings (SPEC 3). A missing row means every default; the defaults
 * live in the column definitions so the database and the code cannot disagree.
 */
export const orgSettings = sqliteTable("org_settings", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  /** Default time zone for new members and org-wide jobs (IANA). */
  timezone: text("timezone").notNull().default("UTC"),
  weekStart: text("week_start", { enum: WEEK_STARTS }).notNull().default("monday"),
  /** Starting a timer while one runs: stop the running one, or refuse with 409. */
  timerMode: text("timer_mode", { enum: TIMER_MODES }).notNull().default("stop_previous"),
  /** Overlapping entries of one member: allowed, or refused with 409. */
  overlapPolicy: text("overlap_policy", { enum: OVERLAP_POLICIES }).notNull().default("allow"),
  /** Seconds without input after which a member with heartbeats counts as idle. */
  idleThresholdSeconds: integer("idle_threshold_seconds").notNull().default(300),
  /** Heartbeats with equal data closer than this are merged into one span (ActivityWatch). */
  pulsetimeSeconds: integer("pulsetime_seconds").notNull().default(60),
  /** A running timer whose agent is silent this long is stopped at the last activity. */
  staleTimerSeconds: integer("stale_timer_seconds").notNull().default(3600),
  /** Idle this long while a timer runs raises an idle alert. */
  idleAlertSeconds: integer("idle_alert_seconds").notNull().default(1800),
  /** Also email the member when an idle alert is raised (the event and the API listing always happen). */
  idleAlertEmail: bool("idle_alert_email").notNull().default(false),
  /** JSON array of privacy rules applied at ingest (drop or redact titles/urls by pattern). */
  privacyRules: text("privacy_rules").notNull().default("[]"),
  updatedAt: ts("updated_at").notNull(),
});

export const projects = sqliteTable(
  "projects",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** #rrggbb */
    color: text("color").notNull(),
    billable: bool("billable").notNull().default(false),
    clientName: text("client_name"),
    archivedAt: ts("archived_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("projects_org_name_uq").on(t.orgId, t.name),
    // Names are unique ignoring case (of ASCII letters: SQLite's lower()): the last word when two
    // writers race past the service's check (migration 0009).
    uniqueIndex("projects_org_lower_name_uq").on(t.orgId, sql`lower(${t.name})`),
    index("projects_org_created_idx").on(t.orgId, t.createdAt, t.id),
  ],
);

export const tags = sqliteTable(
  "tags",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    archivedAt: ts("archived_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("tags_org_name_uq").on(t.orgId, t.name),
    uniqueIndex("tags_org_lower_name_uq").on(t.orgId, sql`lower(${t.name})`),
    index("tags_org_created_idx").on(t.orgId, t.createdAt, t.id),
  ],
);

export const ENTRY_SOURCES = ["timer", "manual", "import"] as const;

/**
 * Time entries. A running timer is an entry with `endAt` null; the partial unique index makes "one
 * running timer per member" a database fact, not a read-then-write race.
 */
export const timeEntries = sqliteTable(
  "time_entries",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    projectId: text("project_id").references(() => projects.id, { onDelete: "set null" }),
    description: text("description").notNull().default(""),
    billable: bool("billable").notNull().default(false),
    startAt: ts("start_at").notNull(),
    endAt: ts("end_at"),
    source: text("source", { enum: ENTRY_SOURCES }).notNull(),
    /** Why the entry needs a look, e.g. "stale_timer" when reconciliation stopped it. */
    flag: text("flag"),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    deletedAt: ts("deleted_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("time_entries_running_uq")
      .on(t.memberId)
      .where(sql`${t.endAt} IS NULL AND ${t.deletedAt} IS NULL`),
    index("time_entries_member_start_idx").on(t.memberId, t.startAt),
    // Stats: a member's closed entries that end after the week starts, read from the index alone
    // (every entry overlapping the week, and no older ones, whatever the entries' length).
    index("time_entries_member_end_idx")
      .on(t.memberId, t.endAt, t.startAt)
      .where(sql`${t.deletedAt} IS NULL AND ${t.endAt} IS NOT NULL`),
    index("time_entries_org_start_idx").on(t.orgId, t.startAt),
    index("time_entries_project_start_idx").on(t.projectId, t.startAt),
  ],
);

export const timeEntryTags = sqliteTable(
  "time_entry_tags",
  {
    entryId: text("entry_id")
      .notNull()
      .references(() => timeEntries.id, { onDelete: "cascade" }),
    tagId: text("tag_id")
      .notNull()
      .references(() => tags.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.entryId, t.tagId] }), index("time_entry_tags_tag_idx").on(t.tagId)],
);

export const IDLE_PERIOD_STATUSES = ["open", "kept", "discarded", "split"] as const;
export type IdlePeriodStatus = (typeof IDLE_PERIOD_STATUSES)[number];

/**
 * Idle periods (SPEC 3 "Idle detection"): a stretch without input while a timer ran, at least the
 * organization's `idleAlertSeconds` long, found by the `idle.detect` job. `endAt` is null while the
 * member is still idle; the job fills it with the first input after `startAt` (or the entry's end,
 * when the timer stopped first). Resolution on the entry: keep the time, discard it, or split it
 * off into its own entry (`newEntryId`).
 */
export const idlePeriods = sqliteTable(
  "idle_periods",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    entryId: text("entry_id")
      .notNull()
      .references(() => timeEntries.id, { onDelete: "cascade" }),
    /** The member's last input (or the timer's start, when later). */
    startAt: ts("start_at").notNull(),
    /** First input after `startAt`, or the entry's end; null while the member is still idle. */
    endAt: ts("end_at"),
    status: text("status", { enum: IDLE_PERIOD_STATUSES }).notNull().default("open"),
    detectedAt: ts("detected_at").notNull(),
    resolvedAt: ts("resolved_at"),
    resolvedBy: text("resolved_by").references(() => users.id, { onDelete: "set null" }),
    /** The entry a split or discard created (the idle piece, or the time after the idle period). */
    newEntryId: text("new_entry_id"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    // One idle period in progress per member: the detector cannot raise the same alert twice.
    uniqueIndex("idle_periods_ongoing_uq").on(t.memberId).where(sql`${t.endAt} IS NULL`),
    uniqueIndex("idle_periods_entry_start_uq").on(t.entryId, t.startAt),
    index("idle_periods_member_start_idx").on(t.memberId, t.startAt),
    index("idle_periods_org_start_idx").on(t.orgId, t.startAt),
  ],
);
