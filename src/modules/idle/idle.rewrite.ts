import type { DomainEvent } from "../../events/types";
import { newId } from "../../lib/ids";
import { wholeSecondsBetween } from "../../lib/time";
import type { Item } from "../time/time.db";
import * as entries from "../time/time.repo";
import { type Actor, event, type TimeDeps } from "../time/time.service";

/** Flag of the entry a split makes of the idle time. */
export const IDLE_TIME_FLAG = "idle_time";

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

/**
 * The writes that turn `entry` into `pieces`: the entry keeps the first piece (or is deleted when
 * none is left), the others become new entries like it. Events: `time_entry.updated` /
 * `time_entry.deleted` for the entry, `timer.stopped` when it stopped running, `time_entry.created`
 * for new stopped entries and `timer.started` for a new running one.
 */
export function applyPieces(
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
          durationSeconds: wholeSecondsBetween(kept.startAt, kept.endAt),
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
