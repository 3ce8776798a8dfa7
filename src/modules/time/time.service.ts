import type { Db } from "../../db/client";
import type { EventBus } from "../../events/bus";
import type { DomainEvent, EventType } from "../../events/types";
import { AppError, type FieldError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { wholeSecondsBetween } from "../../lib/time";
import type { Clock } from "../../ports/clock";
import { findMembershipId, memberExists } from "../orgs/orgs.repo";
import { projectsByIds, tagsByIds } from "../projects/projects.repo";
import { readSettings } from "../tracking-settings/tracking-settings.service";
import { type Item, isGuardFailure, isUniqueViolation, runBatch } from "./time.db";
import * as repo from "./time.repo";

/** A manual entry, or an edit of an entry's times, covers at most 24 hours. */
export const MAX_MANUAL_ENTRY_MS = 24 * 3_600_000;
/**
 * No entry is longer than 7 days: a timer stopped later ends 7 days after its start and is flagged
 * `max_duration`. The bound lets overlap checks and reports read an index range instead of every
 * entry a member ever had.
 */
export const MAX_ENTRY_MS = 7 * 24 * 3_600_000;
/** Attempts of a write that lost a race (re-read, re-check, retry) before answering 409. */
const ATTEMPTS = 10;

export interface TimeDeps {
  db: Db;
  clock: Clock;
  events: EventBus;
}

/** Who is calling, resolved once per request. */
export interface Actor {
  orgId: string;
  userId: string;
  memberId: string;
  /** `time:manage`: create, edit and delete other members' entries. */
  canManage: boolean;
  /** `data:read_all`: read other members' entries. */
  canReadAll: boolean;
}

export interface EntryView {
  id: string;
  memberId: string;
  projectId: string | null;
  description: string;
  billable: boolean;
  start: string;
  end: string | null;
  running: boolean;
  durationSeconds: number;
  source: repo.EntryRow["source"];
  flag: string | null;
  tagIds: string[];
  createdAt: string;
  updatedAt: string;
}

export function entryView(r: repo.EntryRow, tagIds: string[], now: Date): EntryView {
  const end = r.endAt ?? now;
  return {
    id: r.id,
    memberId: r.memberId,
    projectId: r.projectId,
    description: r.description,
    billable: r.billable,
    start: r.startAt.toISOString(),
    end: r.endAt?.toISOString() ?? null,
    running: r.endAt === null,
    durationSeconds: Math.max(0, wholeSecondsBetween(r.startAt, end)),
    source: r.source,
    flag: r.flag,
    tagIds,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export const entryNotFound = () => new AppError(404, "TIME_ENTRY_NOT_FOUND", "No such time entry");

export function invalid(errors: FieldError[]): AppError {
  return new AppError(422, "VALIDATION_FAILED", "Invalid request body", { errors });
}

const overlapError = (id: string) =>
  new AppError(409, "ENTRY_OVERLAP", `The entry would overlap time entry ${id}`, {
    extra: { conflictingEntryId: id },
  });

/** Resolves the caller's membership; a user without one in the organization cannot track time. */
export async function resolveMember(db: Db, orgId: string, userId: string): Promise<string> {
  const id = await findMembershipId(db, orgId, userId);
  if (!id) throw new AppError(403, "FORBIDDEN", "You are not a member of this organization");
  return id;
}

/**
 * Whose rows a listing reads: the caller's by default; another member's (`memberId`) or every
 * member's (`all=true`, undefined here) need `data:read_all` (403 naming `what`), and a member not
 * in the organization is 404.
 */
export async function listedMember(
  db: Db,
  actor: Actor,
  q: { memberId?: string; all?: "true" | "false" },
  what: string,
): Promise<string | undefined> {
  const denied = () => new AppError(403, "FORBIDDEN", `Reading other members' ${what} needs data:read_all`);
  if (q.all === "true") {
    if (!actor.canReadAll) throw denied();
    return undefined;
  }
  if (!q.memberId || q.memberId === actor.memberId) return actor.memberId;
  if (!actor.canReadAll) throw denied();
  if (!(await memberExists(db, actor.orgId, q.memberId)))
    throw new AppError(404, "MEMBER_NOT_FOUND", "No such member in this organization");
  return q.memberId;
}

/**
 * Project and tags of an entry must belong to the organization and be active (archived ones keep
 * their entries but accept no new references: tags in `kept`, already on the entry, are not checked).
 * Errors name the field as the request sent it: `projectId`, `tagIds.<i>` (its index in `tagIds`,
 * repeats included).
 */
export async function checkRefs(
  db: Db,
  orgId: string,
  refs: { projectId?: string | null; tagIds?: string[]; kept?: readonly string[] },
): Promise<{ projectBillable: boolean | null }> {
  const errors: FieldError[] = [];
  let projectBillable: boolean | null = null;
  if (refs.projectId) {
    const [p] = await projectsByIds(db, orgId, [refs.projectId]);
    if (!p)
      errors.push({ path: "projectId", message: "is not a project of this organization", code: "not_found" });
    else if (p.archivedAt) errors.push({ path: "projectId", message: "is archived", code: "archived" });
    else projectBillable = p.billable;
  }
  const added = newTags(refs.tagIds ?? [], refs.kept ?? []);
  if (added.length) {
    const found = new Map((await tagsByIds(db, orgId, added)).map((t) => [t.id, t]));
    refs.tagIds?.forEach((id, i) => {
      if (refs.kept?.includes(id)) return;
      const t = found.get(id);
      if (!t)
        errors.push({ path: `tagIds.${i}`, message: "is not a tag of this organization", code: "not_found" });
      else if (t.archivedAt) errors.push({ path: `tagIds.${i}`, message: "is archived", code: "archived" });
    });
  }
  if (errors.length) throw invalid(errors);
  return { projectBillable };
}

/** The distinct tags of `tagIds` not in `kept`: the new references an entry's write must guard. */
export const newTags = (tagIds: readonly string[], kept: readonly string[] = []) =>
  [...new Set(tagIds)].filter((t) => !kept.includes(t));

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Commits `items` with the outbox rows of `events` in one batch, then publishes them. */
export async function commit(deps: TimeDeps, items: Item[], events: DomainEvent[]): Promise<void> {
  await runBatch(deps.db, [...items, ...events.flatMap((e) => deps.events.record(e))]);
  for (const e of events) deps.events.publish(e);
}

export function event<T extends EventType>(
  deps: TimeDeps,
  type: T,
  payload: DomainEvent<T>["payload"],
  actor: Actor,
): DomainEvent {
  return deps.events.create(type, payload, { orgId: actor.orgId, actor: actor.userId }) as DomainEvent;
}

export interface TimerInput {
  projectId?: string | null;
  description?: string;
  billable?: boolean;
  tagIds?: string[];
}

const timerRunning = (id: string) =>
  new AppError(409, "TIMER_RUNNING", "A timer is already running; stop it first", {
    extra: { runningEntryId: id },
  });

/**
 * Starts the caller's timer. With timer mode `stop_previous` a running timer is stopped at the
 * same instant in the same batch; with `refuse` it is a 409. The partial unique index
 * `time_entries_running_uq` decides between concurrent starts: the loser re-reads and retries
 * (or gets 409), so exactly one timer runs per member.
 */
export async function startTimer(deps: TimeDeps, actor: Actor, input: TimerInput): Promise<EntryView> {
  const refs = { projectId: input.projectId, tagIds: input.tagIds ?? [] };
  const tagIds = newTags(refs.tagIds);
  const { projectBillable } = await checkRefs(deps.db, actor.orgId, refs);
  const settings = await readSettings(deps.db, actor.orgId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const running = await repo.findRunning(deps.db, actor.orgId, actor.memberId);
    if (running && settings.timerMode === "refuse") throw timerRunning(running.id);
    const now = deps.clock.now();
    const span = {
      orgId: actor.orgId,
      memberId: actor.memberId,
      start: now,
      end: null,
      maxEntryMs: MAX_ENTRY_MS,
    };
    if (settings.overlapPolicy === "refuse") {
      const clash = await repo.findOverlap(deps.db, { ...span, excludeId: running?.id });
      if (clash) throw overlapError(clash);
    }
    const items: Item[] = repo.refsGuard(deps.db, actor.orgId, { projectId: input.projectId, tagIds });
    const events: DomainEvent[] = [];
    if (running) {
      const stop = stopAt(running, now);
      items.push(
        ...repo.stopItems(deps.db, running, stop.end, repo.nextVersion(now, running.updatedAt), stop.flag),
      );
      events.push(stoppedEvent(deps, actor, running, stop.end));
    }
    const row: repo.EntryRow = {
      id: newId("timeEntry", now),
      orgId: actor.orgId,
      memberId: actor.memberId,
      projectId: input.projectId ?? null,
      description: input.description ?? "",
      billable: input.billable ?? projectBillable ?? false,
      startAt: now,
      endAt: null,
      source: "timer",
      flag: null,
      createdBy: actor.userId,
      deletedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    items.push(...repo.insertEntryItems(deps.db, row, tagIds));
    if (settings.overlapPolicy === "refuse")
      items.push(repo.noOverlapGuard(deps.db, { ...span, excludeId: row.id }));
    events.push(event(deps, "timer.started", { ...base(row), projectId: row.projectId }, actor));
    try {
      await commit(deps, items, events);
      return entryView(row, tagIds, now);
    } catch (err) {
      const lostRace = isUniqueViolation(err, "time_entries.member_id") || isGuardFailure(err);
      if (!lostRace) throw err;
      await checkRefs(deps.db, actor.orgId, refs); // 422 when the project or a tag went meanwhile
      if (settings.timerMode === "refuse") {
        const winner = await repo.findRunning(deps.db, actor.orgId, actor.memberId);
        if (winner) throw timerRunning(winner.id);
      }
    }
  }
  throw new AppError(409, "TIMER_CONFLICT", "The timer changed concurrently; retry");
}

function base(r: repo.EntryRow) {
  return { orgId: r.orgId, memberId: r.memberId, entryId: r.id, startAt: r.startAt.toISOString() };
}

/** Where a running entry ends when stopped now: never before its start, never past MAX_ENTRY_MS. */
function stopAt(running: repo.EntryRow, now: Date): { end: Date; flag: string | null } {
  const start = running.startAt.getTime();
  const end = Math.max(now.getTime(), start);
  if (end - start > MAX_ENTRY_MS) return { end: new Date(start + MAX_ENTRY_MS), flag: "max_duration" };
  return { end: new Date(end), flag: null };
}

function stoppedEvent(deps: TimeDeps, actor: Actor, r: repo.EntryRow, end: Date) {
  return event(
    deps,
    "timer.stopped",
    {
      ...base(r),
      endAt: end.toISOString(),
      durationSeconds: wholeSecondsBetween(r.startAt, end),
    },
    actor,
  );
}

/** Stops the caller's running timer; 409 TIMER_NOT_RUNNING when there is none. */
export async function stopTimer(deps: TimeDeps, actor: Actor): Promise<EntryView> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const running = await repo.findRunning(deps.db, actor.orgId, actor.memberId);
    if (!running) break;
    const now = deps.clock.now();
    const stop = stopAt(running, now);
    const at = repo.nextVersion(now, running.updatedAt);
    try {
      await commit(deps, repo.stopItems(deps.db, running, stop.end, at, stop.flag), [
        stoppedEvent(deps, actor, running, stop.end),
      ]);
    } catch (err) {
      if (isGuardFailure(err)) continue; // stopped, edited or deleted concurrently: look again
      throw err;
    }
    const tags = await repo.tagIdsOf(deps.db, [running.id]);
    return entryView(
      { ...running, endAt: stop.end, updatedAt: at, flag: stop.flag ?? running.flag },
      tags.get(running.id) ?? [],
      now,
    );
  }
  throw new AppError(409, "TIMER_NOT_RUNNING", "No timer is running");
}

/** The caller's running timer, or null. */
export async function currentTimer(deps: TimeDeps, actor: Actor): Promise<EntryView | null> {
  const running = await repo.findRunning(deps.db, actor.orgId, actor.memberId);
  if (!running) return null;
  const tags = await repo.tagIdsOf(deps.db, [running.id]);
  return entryView(running, tags.get(running.id) ?? [], deps.clock.now());
}

export { ATTEMPTS, iso, overlapError };
