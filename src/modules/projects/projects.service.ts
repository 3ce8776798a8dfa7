import { z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import { projects, tags } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { decodeCursor, pageOf } from "../../lib/pagination";
import type { Clock } from "../../ports/clock";
import { isUniqueViolation } from "../time/time.db";
import "./projects.events";
import * as repo from "./projects.repo";

export interface CatalogDeps {
  db: Db;
  clock: Clock;
  events: EventBus;
}

export type Kind = "project" | "tag";
type RowOf<K extends Kind> = K extends "project" ? repo.ProjectRow : repo.TagRow;
const TABLE = { project: projects, tag: tags } as const;
/** How SQLite names the unique indexes on a name: its columns, or (an expression index) its name. */
const UNIQUE_TARGETS = {
  project: ["projects.org_id, projects.name", "projects_org_lower_name_uq"],
  tag: ["tags.org_id, tags.name", "tags_org_lower_name_uq"],
} as const;
const CODE = { project: "PROJECT", tag: "TAG" } as const;

export const notFound = (kind: Kind) =>
  new AppError(404, `${CODE[kind]}_NOT_FOUND`, `No such ${kind} in this organization`);

const nameTaken = (kind: Kind, name: string) =>
  new AppError(409, `${CODE[kind]}_NAME_TAKEN`, `A ${kind} named "${name}" already exists`);

export interface ProjectView {
  id: string;
  name: string;
  color: string;
  billable: boolean;
  clientName: string | null;
  archived: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TagView {
  id: string;
  name: string;
  archived: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const common = (r: repo.TagRow | repo.ProjectRow) => ({
  archived: r.archivedAt !== null,
  archivedAt: r.archivedAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export const projectView = (r: repo.ProjectRow): ProjectView => ({
  id: r.id,
  name: r.name,
  color: r.color,
  billable: r.billable,
  clientName: r.clientName,
  ...common(r),
});

export const tagView = (r: repo.TagRow): TagView => ({ id: r.id, name: r.name, ...common(r) });

const NameCursor = z.object({ n: z.string().max(200) });

export async function list<K extends Kind>(
  deps: CatalogDeps,
  kind: K,
  orgId: string,
  q: {
    limit: number;
    cursor?: string;
    archived?: repo.ArchivedFilter;
    q?: string;
    billable?: "true" | "false";
  },
) {
  const afterName = q.cursor ? decodeCursor(q.cursor, NameCursor).n : undefined;
  const extra = kind === "project" && q.billable ? repo.billableIs(q.billable === "true") : undefined;
  const rows = await repo.listCatalog(deps.db, TABLE[kind], orgId, {
    archived: q.archived ?? "false",
    search: q.q,
    afterName,
    limit: q.limit,
    extra,
  });
  return pageOf(rows as RowOf<K>[], q.limit, (r) => ({ n: r.name }));
}

export async function get<K extends Kind>(deps: CatalogDeps, kind: K, orgId: string, id: string) {
  const row = await repo.findInCatalog(deps.db, TABLE[kind], orgId, id);
  if (!row) throw notFound(kind);
  return row as RowOf<K>;
}

async function assertNameFree(deps: CatalogDeps, kind: Kind, orgId: string, name: string, exceptId?: string) {
  const clash = await repo.findNameClash(deps.db, TABLE[kind], orgId, name, exceptId);
  if (clash) throw nameTaken(kind, clash.name);
}

/** Runs a write whose unique name indexes (exact, and ignoring case) are the last word when two writers race. */
async function uniqueName<T>(kind: Kind, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (UNIQUE_TARGETS[kind].some((target) => isUniqueViolation(err, target))) throw nameTaken(kind, name);
    throw err;
  }
}

export async function createProject(
  deps: CatalogDeps,
  orgId: string,
  input: { name: string; color?: string; billable?: boolean; clientName?: string | null },
) {
  await assertNameFree(deps, "project", orgId, input.name);
  const now = deps.clock.now();
  return uniqueName("project", input.name, () =>
    repo.insertProject(deps.db, {
      id: newId("project", now),
      orgId,
      name: input.name,
      color: input.color ?? DEFAULT_COLOR,
      billable: input.billable ?? false,
      clientName: input.clientName ?? null,
      createdAt: now,
      updatedAt: now,
    }),
  );
}

export const DEFAULT_COLOR = "#3b82f6";

export async function createTag(deps: CatalogDeps, orgId: string, input: { name: string }) {
  await assertNameFree(deps, "tag", orgId, input.name);
  const now = deps.clock.now();
  return uniqueName("tag", input.name, () =>
    repo.insertTag(deps.db, {
      id: newId("tag", now),
      orgId,
      name: input.name,
      createdAt: now,
      updatedAt: now,
    }),
  );
}

export async function updateProject(
  deps: CatalogDeps,
  orgId: string,
  id: string,
  patch: { name?: string; color?: string; billable?: boolean; clientName?: string | null },
) {
  if (patch.name !== undefined) await assertNameFree(deps, "project", orgId, patch.name, id);
  const row = await uniqueName("project", patch.name ?? "", () =>
    repo.updateProject(deps.db, orgId, id, { ...patch, updatedAt: deps.clock.now() }),
  );
  if (!row) throw notFound("project");
  await projectUpdated(deps, row);
  return row;
}

/** After a committed change: member stats show the project's name on running timers. */
function projectUpdated(deps: CatalogDeps, row: repo.ProjectRow): Promise<void> {
  const payload = { projectId: row.id, name: row.name, archived: row.archivedAt !== null };
  return deps.events.emit(deps.events.create("project.updated", payload, { orgId: row.orgId }));
}

export async function updateTag(deps: CatalogDeps, orgId: string, id: string, patch: { name?: string }) {
  if (patch.name !== undefined) await assertNameFree(deps, "tag", orgId, patch.name, id);
  const row = await uniqueName("tag", patch.name ?? "", () =>
    repo.updateTag(deps.db, orgId, id, { ...patch, updatedAt: deps.clock.now() }),
  );
  if (!row) throw notFound("tag");
  return row;
}

/** Archives (hides from pickers, refuses new entries) or restores; idempotent. */
export async function setArchived<K extends Kind>(
  deps: CatalogDeps,
  kind: K,
  orgId: string,
  id: string,
  archived: boolean,
): Promise<RowOf<K>> {
  const current = await get(deps, kind, orgId, id);
  if ((current.archivedAt !== null) === archived) return current;
  const now = deps.clock.now();
  const set = { archivedAt: archived ? now : null, updatedAt: now };
  const row =
    kind === "project"
      ? await repo.updateProject(deps.db, orgId, id, set)
      : await repo.updateTag(deps.db, orgId, id, set);
  if (!row) throw notFound(kind);
  if (kind === "project") await projectUpdated(deps, row as repo.ProjectRow);
  return row as RowOf<K>;
}

/**
 * Deletes a project or tag that no live time entry references; one that is in use answers 409
 * (archive it instead), so reports never lose the name of tracked time.
 */
export async function remove(deps: CatalogDeps, kind: Kind, orgId: string, id: string): Promise<void> {
  const deleted =
    kind === "project"
      ? await repo.deleteUnusedProject(deps.db, orgId, id)
      : await repo.deleteUnusedTag(deps.db, orgId, id);
  if (deleted) {
    if (kind === "project")
      await deps.events.emit(deps.events.create("project.deleted", { projectId: id }, { orgId }));
    return;
  }
  await get(deps, kind, orgId, id); // 404 when it does not exist
  throw new AppError(
    409,
    `${CODE[kind]}_IN_USE`,
    `Time entries reference this ${kind}; archive it instead of deleting it`,
  );
}
