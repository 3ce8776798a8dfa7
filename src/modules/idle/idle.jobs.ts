import type { DomainEvent } from "../../events/types";
import { defineJob } from "../../jobs/define";
import { newId } from "../../lib/ids";
import { isGuardFailure, isUniqueViolation, runBatch } from "../time/time.db";
import "./idle.events";
import {
  endPeriodItems,
  findIdleCandidates,
  findOngoingPeriods,
  insertPeriod,
  periodOutcome,
  withdrawPeriodItems,
} from "./idle.repo";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Idle detection (SPEC 3): a member who has shown no input for the organization's
 * `idleAlertSeconds` (default 30 min) while a timer runs gets an idle period and an idle alert
 * (`idle.detected`: the email when the organization turned it on, webhooks and realtime
 * through the event); periods in progress end at the first input after them or at the timer's stop.
 * Each write commits with its event's outbox row; the unique indexes make a second detector a no-op.
 */
export const idleDetectJob = defineJob({
  id: "idle.detect",
  cron: "* * * * *",
  description: "Raise idle alerts for members idle longer than the idle-alert threshold while a timer runs.",
  timeoutMs: 5 * 60_000,
  async run({ platform, events }) {
    const { db, clock, logger } = platform;
    const now = clock.now();
    let ended = 0;
    let withdrawn = 0;
    let detected = 0;
    const commit = async (items: Parameters<typeof runBatch>[1], event: DomainEvent) => {
      try {
        await runBatch(db, [...items, ...events.record(event)]);
      } catch (err) {
        // Changed meanwhile (resolved, ended, or found by another instance): nothing to do.
        if (isGuardFailure(err) || isUniqueViolation(err, "idle_periods.")) return false;
        throw err;
      }
      events.publish(event);
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
      const id = newId("idlePeriod", now);
      const event = events.create(
        "idle.detected",
        {
          idlePeriodId: id,
          memberId: c.member_id,
          userId: c.user_id,
          entryId: c.entry_id,
          startAt: iso(c.idle_start),
          idleSeconds: Math.floor((now.getTime() - c.idle_start) / 1000),
        },
        { orgId: c.org_id, actor: "system" },
      );
      const row = {
        id,
        orgId: c.org_id,
        memberId: c.member_id,
        entryId: c.entry_id,
        startAt: new Date(c.idle_start),
        endAt: null,
        status: "open" as const,
        detectedAt: now,
        createdAt: now,
        updatedAt: now,
      };
      if (await commit([insertPeriod(db, row)], event)) {
        detected++;
        logger.info({ idlePeriodId: id, memberId: c.member_id, entryId: c.entry_id }, "idle period detected");
      }
    }
    return { detected, ended, withdrawn };
  },
});

export const idleJobs = [idleDetectJob];
