import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { ts } from "./columns";
import { apiTokens, memberships, organizations } from "./identity";

export const SCREENSHOT_SOURCE_FORMATS = ["png", "jpeg", "webp"] as const;

/**
 * Screenshots sent by desktop agents (SPEC 3). The images live in the BlobStore under random keys;
 * this row is the only way to reach them, and the keys never leave the server.
 */
export const screenshots = sqliteTable(
  "screenshots",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    memberId: text("member_id")
      .notNull()
      .references(() => memberships.id, { onDelete: "cascade" }),
    /** The agent (device) that sent it. */
    agentId: text("agent_id").references(() => apiTokens.id, { onDelete: "set null" }),
    /** When the agent captured it (its clock), else when the server received it. */
    takenAt: ts("taken_at").notNull(),
    app: text("app"),
    title: text("title"),
    /** The stored full image: JPEG, bytes and pixels. */
    size: integer("size").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    /** SHA-256 (hex) of the stored full JPEG, to check the blob. */
    sha256: text("sha256").notNull(),
    /** What the agent uploaded: format by magic bytes, size, SHA-256 (retries are recognised by it). */
    sourceFormat: text("source_format", { enum: SCREENSHOT_SOURCE_FORMATS }).notNull(),
    sourceSize: integer("source_size").notNull(),
    sourceSha256: text("source_sha256").notNull(),
    imageKey: text("image_key").notNull(),
    /** 300×200 thumbnail. */
    mediumKey: text("medium_key").notNull(),
    /** 150×100 thumbnail. */
    smallKey: text("small_key").notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    index("screenshots_org_taken_idx").on(t.orgId, t.takenAt, t.id),
    index("screenshots_member_taken_idx").on(t.memberId, t.takenAt, t.id),
    index("screenshots_agent_idx").on(t.agentId),
    // The same upload (bytes and capture time) by the same member is one screenshot: a retried request
    // after a lost response adds nothing.
    uniqueIndex("screenshots_member_source_uq").on(t.memberId, t.sourceSha256, t.takenAt),
  ],
);

/**
 * Blob objects to delete: the store is not the database, so a deleted screenshot row (its own delete,
 * or the cascade when its member is removed from the organization) leaves its three images until
 * `screenshots.delete-blobs` removes them. The trigger `screenshots_queue_blobs` (migration 0008)
 * queues a row's keys in the same transaction that deletes it, so nothing is forgotten however the row
 * went; an upload whose row was never written queues its objects when it cannot remove them at once.
 */
export const blobDeletions = sqliteTable(
  "blob_deletions",
  {
    key: text("key").primaryKey(),
    queuedAt: ts("queued_at").notNull(),
    /** Failed attempts so far; the next waits longer (exponential, at most a day). */
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    lastError: text("last_error"),
  },
  (t) => [index("blob_deletions_due_idx").on(t.nextAttemptAt)],
);
