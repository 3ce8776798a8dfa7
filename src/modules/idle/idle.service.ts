import { z } from "@hono/zod-openapi";
import type { IdlePeriodStatus } from "../../db/schema";
import type { DomainEvent } from "../../events/types";
import { AppError } from "../../lib/errors";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import { wholeSecondsBetween } from "../../lib/time";
import { type Item, isGuardFailure } from "../time/time.db";
import * as entries from "../time/time.repo";
import {
  type Actor,
  ATTEMPTS,
  commit,
  type EntryView,
  entryView,
  event,
  listedMember,
  type TimeDeps,
} from "../time/time.service";
import "./idle.events";
import * as repo from "./idle.repo";
import { applyPieces, piecesAfter } from "./idle.rewrite";

export const IDLE_ACTIONS = ["keep", "discard", "split"] as const;
export type IdleAction = (typeof IDLE_ACTIONS)[number];
const STATUS_OF = { keep: "kept", discard: "discarded", split: "split" } as const satisfies Record<
  IdleAction,
  IdlePeriodStatus
>;

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
    durationSeconds: Math.max(0, wholeSecondsBetween(r.startAt, end)),
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
  const memberId = await listedMember(deps.db, actor, q, "idle periods");
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
          extra: { periodStatus: period.status },
        },
      );
    const entry = await entries.findEntry(deps.db, actor.orgId, period.entryId);
    if (!entry) throw notFound();
    const tagIds = (await entries.tagIdsOf(deps.db, [entry.id])).get(entry.id) ?? [];
    const now = deps.clock.now();
    const items: Item[] = [];
    const events: DomainEvent[] = [];
    let resultRows: entries.EntryRow[] = [entry];
    let newEntryId: string | null = null;

    // Not ended yet as stored: the facts may already end it (the member is back, the timer stopped)
    // before the job's next run records that; resolve on what they say.
    let idleEnd = period.endAt;
    if (period.endAt === null) {
      const ongoing = await repo.findOngoingPeriod(deps.db, period.id);
      if (!ongoing) continue; // ended or withdrawn meanwhile: re-read
      const outcome = repo.periodOutcome(ongoing, now.getTime());
      if (outcome === "withdrawn")
        throw new AppError(
          409,
          "IDLE_PERIOD_WITHDRAWN",
          "Heartbeats received since show input in this stretch: it is shorter than the idle-alert threshold",
        );
      if (outcome !== "ongoing") idleEnd = new Date(outcome.end);
    }
    // A member still idle: what a discard drops ends now, and the timer stops where the idle time began.
    const endAt = idleEnd ?? (action === "discard" ? now : null);

    if (action !== "keep") {
      if (action === "split" && idleEnd === null)
        throw new AppError(
          409,
          "IDLE_PERIOD_ONGOING",
          "The member is still idle; split the idle time once it has ended",
        );
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
      resultRows = plan.rows;
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
