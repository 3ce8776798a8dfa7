import { defineJob } from "../../jobs/define";
import { wholeSecondsBetween } from "../../lib/time";
import { changedOneRow, isGuardFailure, runBatch } from "../time/time.db";
import "./activity.events";
import { expirePresence, findStaleTimers, stopStaleTimer } from "./presence.repo";

/**
 * Presence that changes with time alone: a member whose agents sent nothing for 5 minutes goes
 * offline; an active member without input for the organization's idle threshold goes idle. Each
 * change emits `member.status_changed` (heartbeat ingest handles the other direction).
 */
export const presenceJob = defineJob({
  id: "presence.expire",
  cron: "* * * * *",
  description: "Mark members offline after 5 minutes without heartbeats, and idle after the idle threshold.",
  timeoutMs: 5 * 60_000,
  async run({ platform, events }) {
    const changes = await expirePresence(platform.db, platform.clock.now().getTime());
    for (const ch of changes)
      await events.emit(
        events.create(
          "member.status_changed",
          { membershipId: ch.id, userId: ch.user_id, from: ch.from, to: ch.to },
          { orgId: ch.org_id, actor: "system" },
        ),
      );
    return {
      offline: changes.filter((c) => c.to === "offline").length,
      idle: changes.filter((c) => c.to === "idle").length,
    };
  },
});

/**
 * Stale-timer reconciliation (SPEC 3): a timer still running although the member's agent has been
 * silent longer than `staleTimerSeconds` is stopped at the last activity and flagged `stale_timer`.
 * The stop and its `timer.stopped` outbox row commit together, and only if the timer still ran.
 */
export const staleTimersJob = defineJob({
  id: "timers.reconcile-stale",
  cron: "*/5 * * * *",
  description: "Stop running timers whose agent has been silent longer than the stale-timer threshold.",
  timeoutMs: 5 * 60_000,
  async run({ platform, events }) {
    const { db, clock, logger } = platform;
    const now = clock.now().getTime();
    let stopped = 0;
    for (const t of await findStaleTimers(db, now)) {
      const endAt = new Date(t.stop_at).toISOString();
      const event = events.create(
        "timer.stopped",
        {
          orgId: t.org_id,
          memberId: t.member_id,
          entryId: t.id,
          startAt: new Date(t.start_at).toISOString(),
          endAt,
          durationSeconds: wholeSecondsBetween(t.start_at, t.stop_at),
        },
        { orgId: t.org_id, actor: "system" },
      );
      try {
        await runBatch(db, [stopStaleTimer(db, t, now), changedOneRow(db), ...events.record(event)]);
      } catch (err) {
        if (isGuardFailure(err)) continue; // stopped by its member meanwhile
        throw err;
      }
      events.publish(event);
      stopped++;
      logger.info({ entryId: t.id, memberId: t.member_id, endAt }, "stale timer stopped");
    }
    return { stopped };
  },
});

export const activityJobs = [presenceJob, staleTimersJob];
