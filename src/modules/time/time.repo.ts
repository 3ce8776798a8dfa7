import { and, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, ne, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { projects, tags, timeEntries, timeEntryTags } from "../../db/schema";
import { abortIf, changedOneRow, type Item } from "./time.db";

export type EntryRow = typeof timeEntries.$inferSelect;
export type NewEntryRow = typeof timeEntries.$inferInsert;

const live = isNull(timeEntries.deletedAt);

/** A live (not soft-deleted) entry of the organization. */
export async function findEntry(db: Db, orgId: string, id: string): Promise<EntryRow | null> {
  const [row] = await db
    .select()
    .from(timeEntries)
    .where(and(eq(timeEntries.orgId, orgId), eq(timeEntries.id, id), live))
    .limit(1);
  return row ?? null;
}

/** The member's running timer (served by the partial unique index `time_entries_running_uq`). */
export async function findRunning(db: Db, orgId: string, memberId: string): Promise<EntryRow | null> {
  const [row] = await db
    .select()
    .from(timeEntries)
    .where(
      and(eq(timeEntries.memberId, memberId), isNull(timeEntries.endAt), live, eq(timeEntries.orgId, orgId)),
    )
    .limit(1);
  return row ?? null;
}

/** Tag ids per entry, for a page of entries. */
export async function tagIdsOf(db: Db, entryIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (entryIds.length === 0) return out;
  const rows = await db
    .select({ entryId: timeEntryTags.entryId, tagId: timeEntryTags.tagId })
    .from(timeEntryTags)
    .where(sql`${timeEntryTags.entryId} IN (SELECT value FROM json_each(${JSON.stringify(entryIds)}))`)
    .orderBy(timeEntryTags.entryId, timeEntryTags.tagId);
  for (const r of rows) out.set(r.entryId, [...(out.get(r.entryId) ?? []), r.tagId]);
  return out;
}

export interface Span {
  orgId: string;
  memberId: string;
  start: Date;
  /** Null: a running timer, open-ended. */
  end: Date | null;
  /** The entry itself, when it is being edited. */
  excludeId?: string;
  /** No stopped entry is longer than this, so older starts cannot overlap (bounds the index range). */
  maxEntryMs: number;
}

/**
 * Live entries of the member overlapping `span` (half-open intervals; touching is not overlapping).
 * A running timer counts as open-ended. Two OR branches, each an index range of its own: stopped
 * entries by `(member_id, start_at)`, the running one by the partial unique index.
 */
function overlapping(s: Span): SQL {
  const notSelf = s.excludeId ? ne(timeEntries.id, s.excludeId) : undefined;
  const endsBefore = s.end ? lt(timeEntries.startAt, s.end) : undefined;
  const stopped = and(
    eq(timeEntries.memberId, s.memberId),
    gte(timeEntries.startAt, new Date(s.start.getTime() - s.maxEntryMs)),
    endsBefore,
    isNotNull(timeEntries.endAt),
    gt(timeEntries.endAt, s.start),
  );
  // `+start_at`: keep the running branch on the small partial index `time_entries_running_uq`.
  const running = and(
    eq(timeEntries.memberId, s.memberId),
    isNull(timeEntries.endAt),
    live,
    s.end ? sql`+${timeEntries.startAt} < ${s.end.getTime()}` : undefined,
  );
  // `+` on org_id: the member's index is the narrow path, not the organization's (the org still scopes).
  return and(sql`+${timeEntries.orgId} = ${s.orgId}`, live, notSelf, or(stopped, running)) as SQL;
}

/** The id of one entry overlapping `span`, or null. */
export async function findOverlap(db: Db, span: Span): Promise<string | null> {
  const [row] = await db
    .select({ id: timeEntries.id })
    .from(timeEntries)
    .where(overlapping(span))
    .orderBy(timeEntries.startAt)
    .limit(1);
  return row?.id ?? null;
}

/** Batch guard: abort when anything overlaps `span` at commit time (concurrent writers). */
export function noOverlapGuard(db: Db, span: Span): Item {
  const q = db.select({ one: sql`1` }).from(timeEntries).where(overlapping(span));
  return abortIf(db, sql`EXISTS ${q}`);
}

export function insertEntryItems(db: Db, row: NewEntryRow & { id: string }, tagIds: string[]): Item[] {
  const items: Item[] = [db.insert(timeEntries).values(row)];
  if (tagIds.length)
    items.push(db.insert(timeEntryTags).values(tagIds.map((tagId) => ({ entryId: row.id, tagId }))));
  return items;
}

/**
 * The version (`updatedAt`) a change made at `now` gives a row last changed at `previous`: strictly
 * later, so an optimistic writer holding `previous` never mistakes the new state for the one it read
 * (two changes in one millisecond, or a clock behind the row's last change).
 */
export const nextVersion = (now: Date, previous: Date) =>
  new Date(Math.max(now.getTime(), previous.getTime() + 1));

/**
 * Stops a running entry at `end`, as of version `at` (`nextVersion` of the one read): the guard
 * aborts the batch if it was no longer running or changed since it was read, and the caller re-reads.
 */
export function stopItems(
  db: Db,
  running: Pick<EntryRow, "orgId" | "id" | "updatedAt">,
  end: Date,
  at: Date,
  flag: string | null,
): Item[] {
  return [
    db
      .update(timeEntries)
      .set({ endAt: end, updatedAt: at, ...(flag ? { flag } : {}) })
      .where(
        and(
          eq(timeEntries.orgId, running.orgId),
          eq(timeEntries.id, running.id),
          eq(timeEntries.updatedAt, running.updatedAt),
          isNull(timeEntries.endAt),
          live,
        ),
      ),
    changedOneRow(db),
  ];
}

/**
 * Aborts the batch unless the project (when given) and every tag of `tagIds` (distinct) are still the
 * organization's and not archived: what `checkRefs` read holds at commit. Put before the rows that
 * reference them, or a project or tag deleted meanwhile fails the foreign key instead of this guard.
 */
export function refsGuard(db: Db, orgId: string, refs: { projectId?: string | null; tagIds: string[] }) {
  const items: Item[] = [];
  if (refs.projectId) {
    const p = db
      .select({ one: sql`1` })
      .from(projects)
      .where(and(eq(projects.orgId, orgId), eq(projects.id, refs.projectId), isNull(projects.archivedAt)));
    items.push(abortIf(db, sql`NOT EXISTS ${p}`));
  }
  if (refs.tagIds.length) {
    const t = db
      .select({ n: sql`count(*)` })
      .from(tags)
      .where(and(eq(tags.orgId, orgId), inArray(tags.id, refs.tagIds), isNull(tags.archivedAt)));
    items.push(abortIf(db, sql`(${t}) <> ${refs.tagIds.length}`));
  }
  return items;
}

/**
 * Optimistic update: applies only if the entry is still live and unchanged since it was read
 * (`updatedAt` matches), else the guard aborts the batch and the caller re-reads.
 */
export function updateItems(
  db: Db,
  orgId: string,
  id: string,
  readAt: Date,
  set: Partial<Omit<EntryRow, "id" | "orgId" | "memberId" | "createdAt">>,
): Item[] {
  return [
    db
      .update(timeEntries)
      .set(set)
      .where(
        and(eq(timeEntries.orgId, orgId), eq(timeEntries.id, id), eq(timeEntries.updatedAt, readAt), live),
      ),
    changedOneRow(db),
  ];
}

export function replaceTagsItems(db: Db, entryId: string, tagIds: string[]): Item[] {
  const items: Item[] = [db.delete(timeEntryTags).where(eq(timeEntryTags.entryId, entryId))];
  if (tagIds.length) items.push(db.insert(timeEntryTags).values(tagIds.map((tagId) => ({ entryId, tagId }))));
  return items;
}

export interface EntryFilter {
  /** Undefined: every member of the organization. */
  memberId?: string;
  from?: Date;
  to?: Date;
  projectId?: string;
  tagId?: string;
  billable?: boolean;
  after?: { startAt: number; id: string };
  limit: number;
}

/** Live entries, newest start first; `from`/`to` bound the start time. Fetches `limit + 1`. */
export function listEntries(db: Db, orgId: string, f: EntryFilter): Promise<EntryRow[]> {
  const after = f.after
    ? or(
        lt(timeEntries.startAt, new Date(f.after.startAt)),
        and(eq(timeEntries.startAt, new Date(f.after.startAt)), lt(timeEntries.id, f.after.id)),
      )
    : undefined;
  return db
    .select()
    .from(timeEntries)
    .where(
      and(
        // One member's entries: the `+` keeps the planner on (member_id, start_at) instead of walking
        // the whole organization's (org_id, start_at) range; the org condition still scopes the rows.
        f.memberId ? sql`+${timeEntries.orgId} = ${orgId}` : eq(timeEntries.orgId, orgId),
        f.memberId ? eq(timeEntries.memberId, f.memberId) : undefined,
        live,
        f.from ? gte(timeEntries.startAt, f.from) : undefined,
        f.to ? lt(timeEntries.startAt, f.to) : undefined,
        f.projectId ? eq(timeEntries.projectId, f.projectId) : undefined,
        f.billable !== undefined ? eq(timeEntries.billable, f.billable) : undefined,
        f.tagId
          ? sql`EXISTS (SELECT 1 FROM ${timeEntryTags} WHERE ${timeEntryTags.entryId} = ${timeEntries.id} AND ${timeEntryTags.tagId} = ${f.tagId})`
          : undefined,
        after,
      ),
    )
    .orderBy(desc(timeEntries.startAt), desc(timeEntries.id))
    .limit(f.limit + 1);
}
