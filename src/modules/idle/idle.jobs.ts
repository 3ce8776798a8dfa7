import type { EventBus } from "../../events/bus";
import type { DomainEvent } from "../../events/types";
import { defineJob } from "../../jobs/define";
import { newId } from "../../lib/ids";
import { isGuardFailure, isUniqueViolation, runBatch } from "../time/time.db";
import "./idle.events";
import {
  endPeriodItems,
  findIdleCandidates,
  findMissedPeriods,
  findOngoingPeriods,
  type IdleCandidate,
  insertPeriod,
  MISSED_LIMIT,
  type MissedPeriod,
  periodOutcome,
  withdrawPeriodItems,
} from "./idle.repo";

const iso = (ms: number) => new Date(ms).toISOString();

/** How far back before its previous run the detector looks for missed idle time (heartbeats arrive late). */
const LATE_MARGIN_MS = 10 * 60_000;
/** Look-back of a first run, and the most a run catches up after downtime. */
const FIRST_RUN_LOOKBACK_MS = 60 * 60_000;
const MAX_CATCH_UP_MS = 24 * 60 * 60_000;

/**
 * A newly found idle period of `c` (open, detected now) and what it raises: `idle.detected`, and
 * `idle.ended` with it when the period already ended (`end`, found after the member came back).
 */
function newPeriod(events: EventBus, c: IdleCandidate, end: number | null, now: Date) {
  const id = newId("idlePeriod", now);
  const scope = { orgId: c.org_id, actor: "system" };
  const span = { idlePeriodId: id, memberId: c.member_id, entryId: c.entry_id, startAt: iso(c.idle_start) };
  const idleSeconds = Math.floor(((end ?? now.getTime()) - c.idle_start) / 1000);
  const raised: DomainEvent[] = [
    events.create("idle.detected", { ...span, userId: c.user_id, idleSeconds }, scope),
  ];
  if (end !== null)
    raised.push(events.create("idle.ended", { ...span, endAt: iso(end), withdrawn: false }, scope));
  const row = {
    id,
    orgId: c.org_id,
    memberId: c.member_id,
    entryId: c.entry_id,
    startAt: new Date(c.idle_start),
    endAt: end === null ? null : new Date(end),
    status: "open" as const,
    detectedAt: now,
    createdAt: now,
    updatedAt: now,
  };
  return { row, raised };
}

/** Where the look for missed idle time starts: before the previous successful run, within bounds. */
function missedSince(now: number, previous: Date | null): number {
  const from = previous ? previous.getTime() - LATE_MARGIN_MS : now - FIRST_RUN_LOOKBACK_MS;
  return Math.max(from, now - MAX_CATCH_UP_MS);
}

/**
 * Idle detection (SPEC 3): a member who has shown no input for the organization's
 * `idleAlertSeconds` (default 30 min) while a timer runs gets an idle period and an idle alert
 * (`idle.detected`: the email when the organization turned it on, webhooks and realtime
 * through the event); periods in progress end at the first input after them or at the timer's stop.
 * Idle time that ended before a run saw it in progress (input came back between two runs, or while
 * the detector did not run) is found when input comes back and stored ended, with both events: it
 * can be resolved like any other (`findMissedPeriods`; no email, the member is back).
 * Each write commits with its events' outbox rows; the unique indexes make a second detector a no-op.
 */
export const idleDetectJob = defineJob({
  id: "idle.detect",
  cron: "* * * * *",
  description: "Raise idle alerts for members idle longer than the idle-alert threshold while a timer runs.",
  timeoutMs: 5 * 60_000,
  async run({ platform, events, lastSucceededAt }) {
    const { db, clock, logger } = platform;
    const now = clock.now();
    let ended = 0;
    let withdrawn = 0;
    let detected = 0;
    let missed = 0;
    const commit = async (items: Parameters<typeof runBatch>[1], ...raised: DomainEvent[]) => {
      try {
        await runBatch(db, [...items, ...raised.flatMap((e) => events.record(e))]);
      } catch (err) {
        // Changed meanwhile (resolved, ended, or found by another instance): nothing to do.
        if (isGuardFailure(err) || isUniqueViolation(err, "idle_periods.")) return false;
        throw err;
      }
      for (const e of raised) events.publish(e);
      return true;
    };

    for (const p of await findOngoingPeriods(db)) {
      const outcome = periodOutcome(p, now.getTime());
      if (outcome === "ongoing") continue;
      const gone = outcome === "withdrawn";
      const event = events.create(
        "idle.ended",
        {
          idlePeriodId: p.id,
          memberId: p.member_id,
          entryId: p.entry_id,
          startAt: iso(p.start_at),
          endAt: gone ? null : iso(outcome.end),
          withdrawn: gone,
        },
        { orgId: p.org_id, actor: "system" },
      );
      const items = gone
        ? withdrawPeriodItems(db, p.id)
        : endPeriodItems(db, p.id, new Date(outcome.end), now);
      if (await commit(items, event)) gone ? withdrawn++ : ended++;
    }

    for (const c of await findIdleCandidates(db, now.getTime())) {
      const { row, raised } = newPeriod(events, c, null, now);
      if (await commit([insertPeriod(db, row)], ...raised)) {
        detected++;
        logger.info(
          { idlePeriodId: row.id, memberId: c.member_id, entryId: c.entry_id },
          "idle period detected",
        );
      }
    }
    // Last, so a long catch-up never delays the alerts above. A full answer is asked again: what it
    // stored is excluded by then (overlap), and the rest follows.
    const since = missedSince(now.getTime(), await lastSucceededAt());
    // One query's rows can overlap each other (entries edited to overlap, overlap policy `allow`):
    // the query excludes periods stored before it, this the ones stored from its own rows.
    const storedNow = new Map<string, [start: number, end: number][]>();
    const overlapsStored = (m: MissedPeriod) =>
      storedNow.get(m.member_id)?.some(([s, e]) => s < m.idle_end && e > m.idle_start) ?? false;
    for (let more = true; more; ) {
      const rows = await findMissedPeriods(db, since);
      let stored = 0;
      for (const m of rows) {
        if (overlapsStored(m)) continue;
        const { row, raised } = newPeriod(events, m, m.idle_end, now);
        if (await commit([insertPeriod(db, row)], ...raised)) {
          missed++;
          stored++;
          storedNow.set(m.member_id, [...(storedNow.get(m.member_id) ?? []), [m.idle_start, m.idle_end]]);
          logger.info(
            { idlePeriodId: row.id, memberId: m.member_id, entryId: m.entry_id },
            "missed idle period found",
          );
        }
      }
      more = rows.length === MISSED_LIMIT && stored > 0;
    }
    return { detected, ended, withdrawn, missed };
  },
});

export const idleJobs = [idleDetectJob];
