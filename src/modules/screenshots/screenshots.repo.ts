import { and, asc, desc, eq, gte, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { blobDeletions, screenshots } from "../../db/schema";

export type ScreenshotRow = typeof screenshots.$inferSelect;
export type NewScreenshotRow = typeof screenshots.$inferInsert;

/** Keyset position of the last row of a page (newest capture first). */
export interface ScreenshotCursor {
  takenAt: number;
  id: string;
}

/**
 * The insert as a batch item (the caller adds the event's outbox rows to the same batch). A second
 * upload of the same bytes and capture time by the same member fails on the unique index.
 */
export function insertScreenshot(db: Db, row: NewScreenshotRow): BatchItem<"sqlite"> {
  return db.insert(screenshots).values(row);
}

/** The screenshot a retried upload duplicates, if any. */
export async function findBySource(
  db: Db,
  orgId: string,
  memberId: string,
  sourceSha256: string,
  takenAt: Date,
): Promise<ScreenshotRow | null> {
  const [row] = await db
    .select()
    .from(screenshots)
    .where(
      and(
        eq(screenshots.orgId, orgId),
        eq(screenshots.memberId, memberId),
        eq(screenshots.sourceSha256, sourceSha256),
        eq(screenshots.takenAt, takenAt),
      ),
    )
    .limit(1);
  return row ?? null;
}

export async function findScreenshot(db: Db, orgId: string, id: string): Promise<ScreenshotRow | null> {
  const [row] = await db
    .select()
    .from(screenshots)
    .where(and(eq(screenshots.orgId, orgId), eq(screenshots.id, id)))
    .limit(1);
  return row ?? null;
}

/**
 * Newest capture first; `memberId` narrows to one member, `from` (inclusive) and `to` (exclusive)
 * to a capture-time range. Fetches `limit + 1` rows so the caller can tell whether there is more.
 */
export async function listScreenshots(
  db: Db,
  orgId: string,
  q: { memberId?: string; from?: Date; to?: Date; limit: number; cursor?: ScreenshotCursor },
): Promise<ScreenshotRow[]> {
  const filters: (SQL | undefined)[] = [
    eq(screenshots.orgId, orgId),
    q.memberId ? eq(screenshots.memberId, q.memberId) : undefined,
    q.from ? gte(screenshots.takenAt, q.from) : undefined,
    q.to ? lt(screenshots.takenAt, q.to) : undefined,
  ];
  if (q.cursor) {
    const at = new Date(q.cursor.takenAt);
    filters.push(
      or(lt(screenshots.takenAt, at), and(eq(screenshots.takenAt, at), lt(screenshots.id, q.cursor.id))),
    );
  }
  return db
    .select()
    .from(screenshots)
    .where(and(...filters))
    .orderBy(desc(screenshots.takenAt), desc(screenshots.id))
    .limit(q.limit + 1);
}

/** Deletes the row; false when it was already gone (a concurrent delete won). */
export async function deleteScreenshot(db: Db, orgId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(screenshots)
    .where(and(eq(screenshots.orgId, orgId), eq(screenshots.id, id)))
    .returning({ id: screenshots.id });
  return rows.length > 0;
}

// Blob deletion queue (`blob_deletions`: a deleted screenshot row's objects, queued by a trigger).

export type QueuedBlob = typeof blobDeletions.$inferSelect;

/** Queues objects for deletion (those the caller could not remove itself); a key already queued stays. */
export async function queueBlobDeletions(db: Db, keys: string[], now: Date): Promise<void> {
  if (keys.length === 0) return;
  await db
    .insert(blobDeletions)
    .values(keys.map((key) => ({ key, queuedAt: now, nextAttemptAt: now })))
    .onConflictDoNothing();
}

/**
 * Forgets queued keys whose objects are deleted. The keys travel as one JSON parameter: D1 binds at
 * most 100 per statement, and a round of the deletion job removes up to 500.
 */
export async function unqueueBlobDeletions(db: Db, keys: string[]): Promise<void> {
  if (keys.length)
    await db
      .delete(blobDeletions)
      .where(sql`${blobDeletions.key} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
}

/** Queued keys due at `now`, longest waiting first. */
export function dueBlobDeletions(db: Db, now: Date, limit: number): Promise<QueuedBlob[]> {
  return db
    .select()
    .from(blobDeletions)
    .where(lte(blobDeletions.nextAttemptAt, now))
    .orderBy(asc(blobDeletions.nextAttemptAt))
    .limit(limit);
}

/** Records a failed deletion and when to try again. */
export async function deferBlobDeletion(
  db: Db,
  key: string,
  retry: { attempts: number; nextAttemptAt: Date; error: string },
): Promise<void> {
  await db
    .update(blobDeletions)
    .set({ attempts: retry.attempts, nextAttemptAt: retry.nextAttemptAt, lastError: retry.error })
    .where(eq(blobDeletions.key, key));
}
