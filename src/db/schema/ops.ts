import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per job execution: scheduled, manual or CLI. */
export const jobRuns = sqliteTable(
  "job_runs",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id").notNull(),
    trigger: text("trigger", { enum: ["schedule", "manual", "cli"] }).notNull(),
    status: text("status", { enum: ["running", "succeeded", "failed"] }).notNull(),
    /** The cron tick this run belongs to (scheduled runs), so a tick runs once across instances. */
    scheduledFor: integer("scheduled_for", { mode: "timestamp_ms" }),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    durationMs: integer("duration_ms"),
    error: text("error"),
    /** Small JSON summary the job returned (rows purged, bytes freed …). */
    result: text("result"),
    instanceId: text("instance_id").notNull(),
  },
  (t) => [
    index("job_runs_job_started_idx").on(t.jobId, t.startedAt),
    index("job_runs_started_idx").on(t.startedAt),
  ],
);

/**
 * Durable event deliveries: one row per (event, durable consumer), written in the same batch as the
 * change that caused the event, so a crash between commit and delivery loses nothing.
 */
export const outboxEvents = sqliteTable(
  "outbox_events",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id").notNull(),
    consumer: text("consumer").notNull(),
    type: text("type").notNull(),
    orgId: text("org_id"),
    payload: text("payload").notNull(),
    occurredAt: integer("occurred_at", { mode: "timestamp_ms" }).notNull(),
    status: text("status", { enum: ["pending", "done", "dead"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }).notNull(),
    lastError: text("last_error"),
    processedAt: integer("processed_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("outbox_events_event_consumer_uq").on(t.eventId, t.consumer),
    index("outbox_events_due_idx").on(t.status, t.nextAttemptAt),
    index("outbox_events_processed_idx").on(t.processedAt),
  ],
);

/** The development mail transport's outbox: every message that would have been sent. */
export const mailOutbox = sqliteTable(
  "mail_outbox",
  {
    id: text("id").primaryKey(),
    to: text("to").notNull(),
    from: text("from").notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    html: text("html").notNull(),
    template: text("template"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    index("mail_outbox_to_created_idx").on(t.to, t.createdAt),
    index("mail_outbox_created_idx").on(t.createdAt),
  ],
);
