import { z } from "@hono/zod-openapi";
import type { IdlePeriodStatus } from "../../db/schema";
import type { DomainEvent } from "../../events/types";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import { memberExists } from "../orgs/orgs.repo";
import { type Item, isGuardFailure } from "../time/time.db";
import * as entries from "../time/time.repo";
import {
  type Actor,
  ATTEMPTS,
  commit,
  type EntryView,
  entryView,
  event,
  type TimeDeps,
} from "../time/time.service";
import "./idle.events";
import { periodOutcome } from "./idle.jobs";
import * as repo from "./idle.repo";

export const IDLE_ACTIONS = ["keep", "discard", "split"] as const;
export type IdleAction = (typeof IDLE_ACTIONS)[number];
const STATUS_OF = { keep: "kept", discard: "discarded", split: "split" } as const satisfies Record<
  IdleAction,
  IdlePeriodStatus
>;
/** Flag of the entry a split makes of the idle time. */
export const IDLE_TIME_FLAG = "idle_time";

export interface IdlePeriodView {
  id: string;
  memberId: string;
  entryId: string;
  start: string;
  /** Null while the member is still idle. */
  end: string | null;
  ongoing: boolean;
  durationSeconds: number;
  status: IdlePeriodStatus;
  detectedAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  newEntryId: string | null;
}

export function periodView(r: repo.IdlePeriodRow, now: Date): IdlePeriodView {
  const end = r.endAt ?? now;
  return {
    id: r.id,
    memberId: r.memberId,
    entryId: r.entryId,
    start: r.startAt.toISOString(),
    end: r.endAt?.toISOString() ?? null,
    ongoing: r.endAt === null,
    durationSeconds: Math.max(0, Math.round((end.getTime() - r.startAt.getTime()) / 1000)),
    status: r.status,
    detectedAt: r.detectedAt.toISOString(),
    resolvedAt: r.resolvedAt?.toISOString() ?? null,
    resolvedBy: r.resolvedBy,
    newEntryId: r.newEntryId,
  };
}

const notFound = () => new AppError(404, "IDLE_PERIOD_NOT_FOUND", "No such idle period");

/** A period the caller may see (own, or anyone's with `data:read_all`) or act on (own, or `time:manage`). */
async function visiblePeriod(deps: TimeDeps, actor: Actor, id: string, forWrite: boolean) {
  const row = await repo.findPeriod(deps.db, actor.orgId, id);
  if (!row) throw notFound();
  if (row.memberId === actor.memberId) return row;
  if (!(forWrite ? actor.canManage : actor.canReadAll)) throw notFound();
  return row;
}

export async function getPeriod(deps: TimeDeps, actor: Actor, id: string): Promise<IdlePeriodView> {
  return periodView(await visiblePeriod(deps, actor, id, false), deps.clock.now());
}

const PeriodCursor = z.object({ s: CursorInstant, i: z.string().max(64) });

export interface PeriodQuery {
  limit: number;
  cursor?: string;
  memberId?: string;
  all?: "true" | "false";
  status?: IdlePeriodStatus;
  from?: string;
  to?: string;
}

/** The caller's idle periods by default; `memberId` or `all=true` need `data:read_all` (403 otherwise). */
export async function listPeriods(deps: TimeDeps, actor: Actor, q: PeriodQuery) {
  let memberId: string | undefined = actor.memberId;
  const denied = () =>
    new AppError(403, "FORBIDDEN", "Reading other members' idle periods needs data:read_all");
  if (q.all === "true") {
    if (!actor.canReadAll) throw denied();
    memberId = undefined;
  } else if (q.memberId && q.memberId !== actor.memberId) {
    if (!actor.canReadAll) throw denied();
    if (!(await memberExists(deps.db, actor.orgId, q.memberId)))
      throw new AppError(404, "MEMBER_NOT_FOUND", "No such member in this organization");
    memberId = q.memberId;
  }
  const after = q.cursor ? decodeCursor(q.cursor, PeriodCursor) : undefined;
  const rows = await repo.listPeriods(deps.db, actor.orgId, {
    memberId,
    status: q.status,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    after: after ? { startAt: after.s, id: after.i } : undefined,
    limit: q.limit,
  });
  const page = pageOf(rows, q.limit, (r) => ({ s: r.startAt.getTime(), i: r.id }));
  const now = deps.clock.now();
  return { data: page.data.map((r) => periodView(r, now)), nextCursor: page.nextCursor };
}

/** A stretch of the entry after a resolution; `end` null: it keeps running. */
export interface Piece {
  start: number;
  end: number | null;
  idle: boolean;
}

/**
 * What is left of entry [start, end) (end null: running) once idle time [idleStart, idleEnd) is
 * kept apart: the time before it, the idle time itself when split off, and the time after it (the
 * running part, for a running entry). `idleEnd` null: the member is still idle, so nothing comes
 * after it. Empty pieces are left out. Null when the entry no longer covers any of the idle time.
 */
export function piecesAfter(
  entry: { start: number; end: number | null },
  idle: { start: number; end: number | null },
  action: "discard" | "split",
): Piece[] | null {
  const from = Math.max(idle.start, entry.start);
  const to = idle.end === null ? entry.end : entry.end === null ? idle.end : Math.min(idle.end, entry.end);
  if (to !== null && from >= to) return null;
  if (to === null && entry.end !== null && from >= entry.end) return null;
  const pieces: Piece[] = [];
  if (from > entry.start) pieces.push({ start: entry.start, end: from, idle: false });
  if (action === "split" && to !== null) pieces.push({ start: from, end: to, idle: true });
  if (idle.end !== null && to !== null && (entry.end === null || to < entry.end))
    pieces.push({ start: to, end: entry.end, idle: false });
  return pieces;
}

export interface ResolveResult {
  idlePeriod: IdlePeriodView;
  /** The entry's time after the resolution, in order: the entry itself first, then what it created. */
  entries: EntryView[];
}

const conflict = () =>
  new AppError(409, "IDLE_PERIOD_CONFLICT", "The idle period or its entry changed concurrently; retry");

/**
 * Resolves an idle period on its entry (the entry's owner, or a manager with `time:manage`):
 * - `keep`: the idle time stays tracked;
 * - `discard`: the idle time leaves the entry — the entry ends where the idle time began, and the
 *   time after it (still running, for a running timer) becomes a new entry with the same project,
 *   description, tags and billability; a member still idle just has the timer stopped there;
 * - `split`: the idle time becomes an entry of its own, flagged `idle_time`, between the two
 *   (only once the idle period has ended: 409 IDLE_PERIOD_ONGOING before).
 * Everything commits in one batch, guarded on the entry's and the period's versions.
 */
export async function resolvePeriod(
  deps: TimeDeps,
  actor: Actor,
  id: string,
  action: IdleAction,
): Promise<ResolveResult> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const period = await visiblePeriod(deps, actor, id, true);
    if (period.status !== "open")
      throw new AppError(
        409,
        "IDLE_PERIOD_RESOLVED",
        `The idle period was already resolved (${period.status})`,
        {
          extra: { status: period.status },
        },
      );
    const entry = await entries.findEntry(deps.db, actor.orgId, period.entryId);
    if (!entry) throw notFound();
    const tagIds = (await entries.tagIdsOf(deps.db, [entry.id])).get(entry.id) ?? [];
    const now = deps.clock.now();
    const items: Item[] = [];
    const events: DomainEvent[] = [];
    const resultRows: entries.EntryRow[] = [entry];
    let endAt = period.endAt;
    let newEntryId: string | null = null;

    // Not ended yet as stored: the facts may already end it (the member is back, the timer stopped)
    // before the job's next run records that; resolve on what they say.
    let idleEnd = period.endAt;
    if (period.endAt === null) {
      const ongoing = await repo.findOngoingPeriod(deps.db, period.id);
      if (!ongoing) continue; // ended or withdrawn meanwhile: re-read
      const outcome = periodOutcome(ongoing, now.getTime());
      if (outcome === "withdrawn")
        throw new AppError(
          409,
          "IDLE_PERIOD_WITHDRAWN",
          "Heartbeats received since show input in this stretch: it is shorter than the idle-alert threshold",
        );
      if (outcome !== "ongoing") idleEnd = endAt = new Date(outcome.end);
    }

    if (action !== "keep") {
      if (action === "split" && idleEnd === null)
        throw new AppError(
          409,
          "IDLE_PERIOD_ONGOING",
          "The member is still idle; split the idle time once it has ended",
        );
      // A member still idle: what is discarded ends now, and the timer stops where the idle time began.
      if (idleEnd === null) endAt = now;
      const pieces = piecesAfter(
        { start: entry.startAt.getTime(), end: entry.endAt?.getTime() ?? null },
        { start: period.startAt.getTime(), end: idleEnd?.getTime() ?? null },
        action,
      );
      if (!pieces)
        throw new AppError(
          409,
          "IDLE_PERIOD_NOT_IN_ENTRY",
          "The entry no longer covers the idle period (it was edited)",
        );
      const plan = applyPieces(deps, actor, entry, tagIds, pieces, now);
      items.push(...plan.items);
      events.push(...plan.events);
      resultRows.splice(0, 1, ...plan.rows);
      // Split: the entry that holds the idle time; discard: the entry for the time after it.
      const idleAt = pieces.findIndex((p) => p.idle);
      newEntryId = action === "split" ? (plan.rows[idleAt]?.id ?? null) : (plan.createdIds[0] ?? null);
    }
    const resolution = {
      status: STATUS_OF[action],
      endAt,
      resolvedAt: now,
      resolvedBy: actor.userId,
      newEntryId,
    };
    items.push(...repo.resolvePeriodItems(deps.db, period, resolution));
    const createdEntryIds = resultRows.slice(1).map((r) => r.id);
    events.push(
      event(
        deps,
        "idle.resolved",
        {
          idlePeriodId: period.id,
          memberId: period.memberId,
          entryId: entry.id,
          action,
          startAt: period.startAt.toISOString(),
          endAt: endAt?.toISOString() ?? null,
          createdEntryIds,
        },
        actor,
      ),
    );
    try {
      await commit(deps, items, events);
    } catch (err) {
      if (isGuardFailure(err)) continue; // the entry or the period changed meanwhile: re-read
      throw err;
    }
    return {
      idlePeriod: periodView({ ...period, ...resolution, updatedAt: now }, now),
      entries: resultRows.filter((r) => r.deletedAt === null).map((r) => entryView(r, tagIds, now)),
    };
  }
  throw conflict();
}

/**
 * The writes that turn `entry` into `pieces`: the entry keeps the first piece (or is deleted when
 * none is left), the others become new entries like it. Events: `time_entry.updated` /
 * `time_entry.deleted` for the entry, `timer.stopped` when it stopped running, `time_entry.created`
 * for new stopped entries and `timer.started` for a new running one.
 */
function applyPieces(
  deps: TimeDeps,
  actor: Actor,
  entry: entries.EntryRow,
  tagIds: string[],
  pieces: Piece[],
  now: Date,
) {
  const items: Item[] = [];
  const events: DomainEvent[] = [];
  const rows: entries.EntryRow[] = [];
  const createdIds: string[] = [];
  const base = (r: entries.EntryRow) => ({
    orgId: r.orgId,
    memberId: r.memberId,
    entryId: r.id,
    startAt: r.startAt.toISOString(),
  });
  const updatedAt = new Date(Math.max(now.getTime(), entry.updatedAt.getTime() + 1));
  const [first, ...rest] = pieces;
  if (!first) {
    const gone = { ...entry, deletedAt: updatedAt, updatedAt };
    items.push(
      ...entries.updateItems(deps.db, entry.orgId, entry.id, entry.updatedAt, {
        deletedAt: updatedAt,
        updatedAt,
      }),
    );
    events.push(
      event(deps, "time_entry.deleted", { ...base(entry), endAt: entry.endAt?.toISOString() ?? null }, actor),
    );
    rows.push(gone);
    return { items, events, rows, createdIds };
  }
  // The idle piece is flagged `idle_time`; the entry's own flag (`stale_timer`, `max_duration`: about
  // how it ended) goes with the last piece, which keeps that end.
  const flagOf = (i: number) =>
    pieces[i]?.idle ? IDLE_TIME_FLAG : i === pieces.length - 1 ? entry.flag : null;
  const kept: entries.EntryRow = {
    ...entry,
    startAt: new Date(first.start),
    endAt: first.end === null ? null : new Date(first.end),
    flag: flagOf(0),
    updatedAt,
  };
  items.push(
    ...entries.updateItems(deps.db, entry.orgId, entry.id, entry.updatedAt, {
      startAt: kept.startAt,
      endAt: kept.endAt,
      flag: kept.flag,
      updatedAt,
    }),
  );
  rows.push(kept);
  const changes = [
    ...(kept.startAt.getTime() !== entry.startAt.getTime() ? ["start"] : []),
    ...(kept.endAt?.getTime() !== entry.endAt?.getTime() ? ["end"] : []),
  ];
  if (entry.endAt === null && kept.endAt !== null)
    events.push(
      event(
        deps,
        "timer.stopped",
        {
          ...base(kept),
          endAt: kept.endAt.toISOString(),
          durationSeconds: Math.round((kept.endAt.getTime() - kept.startAt.getTime()) / 1000),
        },
        actor,
      ),
    );
  events.push(
    event(
      deps,
      "time_entry.updated",
      {
        ...base(kept),
        endAt: kept.endAt?.toISOString() ?? null,
        projectId: kept.projectId,
        billable: kept.billable,
        changes,
        previous: { startAt: entry.startAt.toISOString(), endAt: entry.endAt?.toISOString() ?? null },
      },
      actor,
    ),
  );
  for (const [i, p] of rest.entries()) {
    const row: entries.EntryRow = {
      ...entry,
      id: newId("timeEntry", now),
      startAt: new Date(p.start),
      endAt: p.end === null ? null : new Date(p.end),
      flag: flagOf(i + 1),
      createdBy: actor.userId,
      createdAt: now,
      updatedAt: now,
    };
    items.push(...entries.insertEntryItems(deps.db, row, tagIds));
    rows.push(row);
    createdIds.push(row.id);
    events.push(
      row.endAt === null
        ? event(deps, "timer.started", { ...base(row), projectId: row.projectId }, actor)
        : event(
            deps,
            "time_entry.created",
            {
              ...base(row),
              endAt: row.endAt.toISOString(),
              projectId: row.projectId,
              billable: row.billable,
            },
            actor,
          ),
    );
  }
  return { items, events, rows, createdIds };
}
