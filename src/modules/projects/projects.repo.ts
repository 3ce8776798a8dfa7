import { and, asc, eq, gt, inArray, isNotNull, isNull, ne, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { projects, tags, timeEntries, timeEntryTags } from "../../db/schema";

export type ProjectRow = typeof projects.$inferSelect;
export type TagRow = typeof tags.$inferSelect;
export type Catalog = typeof projects | typeof tags;
export type ArchivedFilter = "true" | "false" | "all";

/**
 * Projects and tags share their shape (org-scoped, unique name, archivable) and their queries;
 * `table` picks which. Lists are ordered by name, the key of the unique `(org_id, name)` index, so a
 * page is an index range and the cursor is simply the last name served.
 */
function archivedClause(table: Catalog, archived: ArchivedFilter): SQL | undefined {
  if (archived === "all") return undefined;
  return archived === "true" ? isNotNull(table.archivedAt) : isNull(table.archivedAt);
}

export async function listCatalog<T extends Catalog>(
  db: Db,
  table: T,
  orgId: string,
  q: { archived: ArchivedFilter; search?: string; afterName?: string; limit: number; extra?: SQL },
): Promise<T["$inferSelect"][]> {
  const rows = await db
    .select()
    .from(table as Catalog)
    .where(
      and(
        eq(table.orgId, orgId),
        archivedClause(table, q.archived),
        q.search ? sql`instr(lower(${table.name}), lower(${q.search})) > 0` : undefined,
        q.afterName !== undefined ? gt(table.name, q.afterName) : undefined,
        q.extra,
      ),
    )
    .orderBy(asc(table.name))
    .limit(q.limit + 1);
  return rows as T["$inferSelect"][];
}

export async function findInCatalog<T extends Catalog>(
  db: Db,
  table: T,
  orgId: string,
  id: string,
): Promise<T["$inferSelect"] | null> {
  const [row] = await db
    .select()
    .from(table as Catalog)
    .where(and(eq(table.orgId, orgId), eq(table.id, id)))
    .limit(1);
  return (row as T["$inferSelect"] | undefined) ?? null;
}

/** Another row of the organization whose name equals `name` ignoring ASCII case, if any. */
export async function findNameClash(
  db: Db,
  table: Catalog,
  orgId: string,
  name: string,
  exceptId?: string,
): Promise<{ id: string; name: string } | null> {
  const [row] = await db
    .select({ id: table.id, name: table.name })
    .from(table as Catalog)
    .where(
      and(
        eq(table.orgId, orgId),
        sql`lower(${table.name}) = lower(${name})`,
        exceptId ? ne(table.id, exceptId) : undefined,
      ),
    )
    .limit(1);
  return row ?? null;
}

export async function insertProject(db: Db, row: typeof projects.$inferInsert): Promise<ProjectRow> {
  const [out] = await db.insert(projects).values(row).returning();
  if (!out) throw new Error("insert returned no row");
  return out;
}

export async function insertTag(db: Db, row: typeof tags.$inferInsert): Promise<TagRow> {
  const [out] = await db.insert(tags).values(row).returning();
  if (!out) throw new Error("insert returned no row");
  return out;
}

export async function updateProject(
  db: Db,
  orgId: string,
  id: string,
  set: Partial<Omit<ProjectRow, "id" | "orgId" | "createdAt">>,
): Promise<ProjectRow | null> {
  const [row] = await db
    .update(projects)
    .set(set)
    .where(and(eq(projects.orgId, orgId), eq(projects.id, id)))
    .returning();
  return row ?? null;
}

export async function updateTag(
  db: Db,
  orgId: string,
  id: string,
  set: Partial<Omit<TagRow, "id" | "orgId" | "createdAt">>,
): Promise<TagRow | null> {
  const [row] = await db
    .update(tags)
    .set(set)
    .where(and(eq(tags.orgId, orgId), eq(tags.id, id)))
    .returning();
  return row ?? null;
}

/**
 * Deletes a project only if no live (not soft-deleted) entry references it, in one statement, so an
 * entry created concurrently cannot lose its project. Soft-deleted entries keep no project (FK SET NULL).
 */
export async function deleteUnusedProject(db: Db, orgId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(projects)
    .where(
      and(
        eq(projects.orgId, orgId),
        eq(projects.id, id),
        sql`NOT EXISTS (SELECT 1 FROM ${timeEntries} WHERE ${timeEntries.projectId} = ${projects.id} AND ${timeEntries.deletedAt} IS NULL)`,
      ),
    )
    .returning({ id: projects.id });
  return rows.length > 0;
}

/** Deletes a tag only if no live entry carries it (same reasoning as projects). */
export async function deleteUnusedTag(db: Db, orgId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(tags)
    .where(
      and(
        eq(tags.orgId, orgId),
        eq(tags.id, id),
        sql`NOT EXISTS (SELECT 1 FROM ${timeEntryTags} JOIN ${timeEntries} ON ${timeEntries.id} = ${timeEntryTags.entryId} WHERE ${timeEntryTags.tagId} = ${tags.id} AND ${timeEntries.deletedAt} IS NULL)`,
      ),
    )
    .returning({ id: tags.id });
  return rows.length > 0;
}

/** Projects of this organization among `ids` (for validating references). */
export function projectsByIds(db: Db, orgId: string, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .select({
      id: projects.id,
      name: projects.name,
      billable: projects.billable,
      archivedAt: projects.archivedAt,
    })
    .from(projects)
    .where(and(eq(projects.orgId, orgId), inArray(projects.id, ids)));
}

/** Tags of this organization among `ids`. */
export function tagsByIds(db: Db, orgId: string, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .select({ id: tags.id, name: tags.name, archivedAt: tags.archivedAt })
    .from(tags)
    .where(and(eq(tags.orgId, orgId), inArray(tags.id, ids)));
}

/** Extra list filter for projects: billable or not. */
export const billableIs = (billable: boolean): SQL => eq(projects.billable, billable);
