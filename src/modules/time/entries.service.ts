import { z } from "@hono/zod-openapi";
import { AppError, type FieldError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import { memberExists } from "../orgs/orgs.repo";
import { readSettings } from "../tracking-settings/tracking-settings.service";
import { type Item, isGuardFailure } from "./time.db";
import * as repo from "./time.repo";
import {
  type Actor,
  ATTEMPTS,
  checkRefs,
  commit,
  type EntryView,
  entryNotFound,
  entryView,
  event,
  invalid,
  iso,
  listedMember,
  MAX_ENTRY_MS,
  MAX_MANUAL_ENTRY_MS,
  newTags,
  overlapError,
  type TimeDeps,
} from "./time.service";

export interface ManualEntryInput {
  start: string;
  end: string;
  projectId?: string | null;
  description?: string;
  billable?: boolean;
  tagIds?: string[];
  memberId?: string;
}

export interface EntryPatch {
  start?: string;
  end?: string;
  projectId?: string | null;
  description?: string;
  billable?: boolean;
  tagIds?: string[];
}

/** Checks an interval's shape; errors name `start`/`end`. Stopped intervals only. */
function checkInterval(start: Date, end: Date): void {
  const errors: FieldError[] = [];
  if (end.getTime() <= start.getTime())
    errors.push({ path: "end", message: "must be after start", code: "end_before_start" });
  else if (end.getTime() - start.getTime() > MAX_MANUAL_ENTRY_MS)
    errors.push({ path: "end", message: "an entry covers at most 24 hours", code: "too_long" });
  if (errors.length) throw invalid(errors);
}

const conflict = () => new AppError(409, "TIME_ENTRY_CONFLICT", "The entry changed concurrently; retry");

/**
 * A manual entry for the caller, or with `time:manage` for another member (`memberId`). Overlap
 * policy `refuse` is checked before and enforced inside the batch (guard), so two concurrent
 * writers cannot both slip in overlapping entries.
 */
export async function createEntry(deps: TimeDeps, actor: Actor, input: ManualEntryInput): Promise<EntryView> {
  const memberId = input.memberId ?? actor.memberId;
  if (memberId !== actor.memberId) {
    if (!actor.canManage)
      throw new AppError(403, "FORBIDDEN", "Creating entries for other members needs time:manage");
    if (!(await memberExists(deps.db, actor.orgId, memberId)))
      throw invalid([
        { path: "memberId", message: "is not a member of this organization", code: "not_found" },
      ]);
  }
  const start = new Date(input.start);
  const end = new Date(input.end);
  checkInterval(start, end);
  const refs = { projectId: input.projectId, tagIds: input.tagIds ?? [] };
  const tagIds = newTags(refs.tagIds);
  const { projectBillable } = await checkRefs(deps.db, actor.orgId, refs);
  const settings = await readSettings(deps.db, actor.orgId);
  const now = deps.clock.now();
  const row: repo.EntryRow = {
    id: newId("timeEntry", now),
    orgId: actor.orgId,
    memberId,
    projectId: input.projectId ?? null,
    description: input.description ?? "",
    billable: input.billable ?? projectBillable ?? false,
    startAt: start,
    endAt: end,
    source: "manual",
    flag: null,
    createdBy: actor.userId,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const span = { orgId: actor.orgId, memberId, start, end, maxEntryMs: MAX_ENTRY_MS, excludeId: row.id };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const items: Item[] = [
      ...repo.refsGuard(deps.db, actor.orgId, { projectId: row.projectId, tagIds }),
      ...repo.insertEntryItems(deps.db, row, tagIds),
    ];
    if (settings.overlapPolicy === "refuse") {
      const clash = await repo.findOverlap(deps.db, span);
      if (clash) throw overlapError(clash);
      items.push(repo.noOverlapGuard(deps.db, span));
    }
    const created = event(
      deps,
      "time_entry.created",
      {
        orgId: row.orgId,
        memberId,
        entryId: row.id,
        startAt: start.toISOString(),
        endAt: end.toISOString(),
        projectId: row.projectId,
        billable: row.billable,
      },
      actor,
    );
    try {
      await commit(deps, items, [created]);
      return entryView(row, tagIds, now);
    } catch (err) {
      if (!isGuardFailure(err)) throw err; // an overlapping entry was committed meanwhile: re-check,
      await checkRefs(deps.db, actor.orgId, refs); // or the project or a tag went (422)
    }
  }
  throw conflict();
}

/** An entry the caller may see: their own, or anyone's with `data:read_all`. Otherwise 404. */
async function visibleEntry(deps: TimeDeps, actor: Actor, id: string, forWrite: boolean) {
  const row = await repo.findEntry(deps.db, actor.orgId, id);
  if (!row) throw entryNotFound();
  if (row.memberId === actor.memberId) return row;
  const allowed = forWrite ? actor.canManage : actor.canReadAll;
  if (!allowed) throw entryNotFound();
  return row;
}

export async function getEntry(deps: TimeDeps, actor: Actor, id: string): Promise<EntryView> {
  const row = await visibleEntry(deps, actor, id, false);
  const tags = await repo.tagIdsOf(deps.db, [row.id]);
  return entryView(row, tags.get(row.id) ?? [], deps.clock.now());
}

const EntryCursor = z.object({ s: CursorInstant, i: z.string().max(64) });

export interface ListQuery {
  limit: number;
  cursor?: string;
  memberId?: string;
  all?: "true" | "false";
  from?: string;
  to?: string;
  projectId?: string;
  tagId?: string;
  billable?: "true" | "false";
}

/** The caller's entries by default; `memberId` or `all=true` need `data:read_all` (403 otherwise). */
export async function listEntries(deps: TimeDeps, actor: Actor, q: ListQuery) {
  const memberId = await listedMember(deps.db, actor, q, "entries");
  const after = q.cursor ? decodeCursor(q.cursor, EntryCursor) : undefined;
  const rows = await repo.listEntries(deps.db, actor.orgId, {
    memberId,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    projectId: q.projectId,
    tagId: q.tagId,
    billable: q.billable === undefined ? undefined : q.billable === "true",
    after: after ? { startAt: after.s, id: after.i } : undefined,
    limit: q.limit,
  });
  const page = pageOf(rows, q.limit, (r) => ({ s: r.startAt.getTime(), i: r.id }));
  const tags = await repo.tagIdsOf(
    deps.db,
    page.data.map((r) => r.id),
  );
  const now = deps.clock.now();
  return { data: page.data.map((r) => entryView(r, tags.get(r.id) ?? [], now)), nextCursor: page.nextCursor };
}

/**
 * Edits an entry: the owner (`time:write`) or a manager (`time:manage`); anyone else gets 404. Only
 * fields present change; `tagIds` replaces the set. Times are re-validated when they change, and
 * an archived project or tag can be kept but not newly set. Optimistic: lost races re-read.
 */
export async function updateEntry(
  deps: TimeDeps,
  actor: Actor,
  id: string,
  patch: EntryPatch,
): Promise<EntryView> {
  const settings = await readSettings(deps.db, actor.orgId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const before = await visibleEntry(deps, actor, id, true);
    const beforeTags = (await repo.tagIdsOf(deps.db, [id])).get(id) ?? [];
    const start = patch.start ? new Date(patch.start) : before.startAt;
    const running = before.endAt === null;
    if (running && patch.end)
      throw invalid([
        {
          path: "end",
          message: "the timer is running; stop it with POST /api/v1/timer/stop",
          code: "running",
        },
      ]);
    const end = patch.end ? new Date(patch.end) : before.endAt;
    const timesChanged =
      start.getTime() !== before.startAt.getTime() || end?.getTime() !== before.endAt?.getTime();
    const now = deps.clock.now();
    if (timesChanged && end) checkInterval(start, end);
    if (timesChanged && !end && start.getTime() > now.getTime())
      throw invalid([
        { path: "start", message: "a running timer cannot start in the future", code: "future" },
      ]);
    const tagIds = patch.tagIds ? [...new Set(patch.tagIds)] : beforeTags;
    const added = newTags(tagIds, beforeTags);
    const projectId = patch.projectId !== undefined ? patch.projectId : before.projectId;
    const projectChanged = projectId !== before.projectId;
    await checkRefs(deps.db, actor.orgId, {
      projectId: projectChanged ? projectId : null,
      tagIds: patch.tagIds,
      kept: beforeTags,
    });
    const description = patch.description ?? before.description;
    const billable = patch.billable ?? before.billable;
    const tagsChanged = added.length > 0 || tagIds.length !== beforeTags.length;
    // What differs from the stored entry: nothing (an empty or same-values PATCH) writes nothing.
    const differs: Record<keyof EntryPatch, boolean> = {
      start: start.getTime() !== before.startAt.getTime(),
      end: end?.getTime() !== before.endAt?.getTime(),
      projectId: projectChanged,
      description: description !== before.description,
      billable: billable !== before.billable,
      tagIds: tagsChanged,
    };
    const changes = (Object.keys(patch) as (keyof EntryPatch)[]).filter(
      (k) => patch[k] !== undefined && differs[k],
    );
    if (changes.length === 0) return entryView(before, beforeTags, now);

    const set = {
      startAt: start,
      endAt: end,
      projectId,
      description,
      billable,
      // Strictly later than the version read, so the optimistic check never confuses two writes.
      updatedAt: repo.nextVersion(now, before.updatedAt),
    };
    const items: Item[] = [
      ...repo.refsGuard(deps.db, actor.orgId, {
        projectId: projectChanged ? projectId : null,
        tagIds: added,
      }),
      ...repo.updateItems(deps.db, actor.orgId, id, before.updatedAt, set),
    ];
    if (tagsChanged) items.push(...repo.replaceTagsItems(deps.db, id, tagIds));
    const span = {
      orgId: actor.orgId,
      memberId: before.memberId,
      start,
      end,
      excludeId: id,
      maxEntryMs: MAX_ENTRY_MS,
    };
    if (timesChanged && settings.overlapPolicy === "refuse") {
      const clash = await repo.findOverlap(deps.db, span);
      if (clash) throw overlapError(clash);
      items.push(repo.noOverlapGuard(deps.db, span));
    }
    const after: repo.EntryRow = { ...before, ...set };
    const updated = event(
      deps,
      "time_entry.updated",
      {
        orgId: actor.orgId,
        memberId: before.memberId,
        entryId: id,
        startAt: start.toISOString(),
        endAt: iso(end),
        projectId: after.projectId,
        billable: after.billable,
        changes,
        previous: { startAt: before.startAt.toISOString(), endAt: iso(before.endAt) },
      },
      actor,
    );
    try {
      await commit(deps, items, [updated]);
      return entryView(after, tagIds, now);
    } catch (err) {
      if (!isGuardFailure(err)) throw err; // changed, deleted, overlapped or a reference gone: re-read
    }
  }
  throw conflict();
}

/** Soft delete (sets `deletedAt`): the entry leaves lists and reports; same access as editing. */
export async function deleteEntry(deps: TimeDeps, actor: Actor, id: string, attempt = 0): Promise<void> {
  if (attempt >= ATTEMPTS) throw conflict();
  const before = await visibleEntry(deps, actor, id, true);
  const now = deps.clock.now();
  const deleted = event(
    deps,
    "time_entry.deleted",
    {
      orgId: actor.orgId,
      memberId: before.memberId,
      entryId: id,
      startAt: before.startAt.toISOString(),
      endAt: iso(before.endAt),
    },
    actor,
  );
  const at = repo.nextVersion(now, before.updatedAt);
  try {
    await commit(
      deps,
      repo.updateItems(deps.db, actor.orgId, id, before.updatedAt, { deletedAt: at, updatedAt: at }),
      [deleted],
    );
  } catch (err) {
    if (!isGuardFailure(err)) throw err;
    // Deleted meanwhile → 404; edited meanwhile → delete the newer version.
    return deleteEntry(deps, actor, id, attempt + 1);
  }
}
