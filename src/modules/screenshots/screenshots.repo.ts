import { and, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { screenshots } from "../../db/schema";

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
