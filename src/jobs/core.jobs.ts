import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { affectedRows } from "../db/client";
import { jobRuns, mailOutbox, outboxEvents } from "../db/schema";
import { defineJob } from "./define";

const DAY = 86_400_000;

/**
 * Daily `PRAGMA optimize` (refreshes planner statistics where they drifted) and, on a local file,
 * a WAL checkpoint that truncates the -wal file so it cannot grow without bound.
 */
export const dbOptimize = defineJob({
  id: "db.optimize",
  cron: "0 4 * * *",
  description: "Refresh query-planner statistics (PRAGMA optimize) and checkpoint the WAL.",
  async run({ platform }) {
    const { db, dbDialect } = platform;
    if (dbDialect === "d1") return { optimized: false, reason: "D1 manages its own storage" };
    await db.run(sql.raw("PRAGMA optimize=0x10002"));
    if (dbDialect !== "libsql-file") return { optimized: true, checkpoint: false };
    const [row] = await db.all<{ busy: number; log: number; checkpointed: number }>(
      sql.raw("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    return {
      optimized: true,
      checkpoint: true,
      walFrames: row?.log ?? 0,
      checkpointedFrames: row?.checkpointed ?? 0,
      busy: row?.busy === 1,
    };
  },
});

/** Delivers durable event rows that are due (first attempts kicked in-process, retries, crash leftovers). */
export const eventsRelay = defineJob({
  id: "events.relay",
  cron: "* * * * *",
  description: "Deliver due outbox events to durable consumers (retries and anything left by a crash).",
  timeoutMs: 5 * 60_000,
  async run({ events }) {
    let total = { delivered: 0, failed: 0, dead: 0 };
    for (let i = 0; i < 20; i++) {
      const r = await events.relay(200);
      total = {
        delivered: total.delivered + r.delivered,
        failed: total.failed + r.failed,
        dead: total.dead + r.dead,
      };
      if (r.delivered + r.failed + r.dead < 200) break;
    }
    return total;
  },
});

/** Keeps the bookkeeping tables small: job runs and processed outbox rows after 30 days, dev mail after 7. */
export const maintenancePrune = defineJob({
  id: "maintenance.prune-records",
  cron: "30 3 * * *",
  description:
    "Delete job runs and delivered outbox events older than 30 days, dev-outbox mail older than 7 days.",
  async run({ platform }) {
    const { db, clock } = platform;
    const now = clock.now().getTime();
    const cutoff = new Date(now - 30 * DAY);
    // A run still "running" a day later belonged to an instance that died mid-run.
    const abandoned = await db
      .update(jobRuns)
      .set({
        status: "failed",
        error: "abandoned: the instance stopped during the run",
        finishedAt: clock.now(),
      })
      .where(and(eq(jobRuns.status, "running"), lt(jobRuns.startedAt, new Date(now - DAY))));
    const runs = await db
      .delete(jobRuns)
      .where(and(lt(jobRuns.startedAt, cutoff), inArray(jobRuns.status, ["succeeded", "failed"])));
    const events = await db
      .delete(outboxEvents)
      .where(and(eq(outboxEvents.status, "done"), lt(outboxEvents.processedAt, cutoff)));
    const mail = await db.delete(mailOutbox).where(lt(mailOutbox.createdAt, new Date(now - 7 * DAY)));
    return {
      abandonedRuns: affectedRows(abandoned),
      jobRuns: affectedRows(runs),
      outboxEvents: affectedRows(events),
      mail: affectedRows(mail),
    };
  },
});

export const coreJobs = [dbOptimize, eventsRelay, maintenancePrune];
