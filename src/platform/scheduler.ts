import { Cron } from "croner";
import type { JobRunner } from "../jobs/runner";
import type { Logger } from "../ports/platform";

export interface Scheduler {
  /** Stop firing and wait for runs in progress on this instance. */
  stop(): Promise<void>;
}

/**
 * Bun driver: one croner timer per job, UTC, `protect` so a slow run is never overlapped in process
 * (the runner's KvStore locks cover other instances).
 */
export function startCronScheduler(runner: JobRunner, logger: Logger): Scheduler {
  const inFlight = new Set<Promise<unknown>>();
  const crons = runner.list().map(
    (job) =>
      new Cron(
        job.cron,
        {
          name: job.id,
          timezone: "UTC",
          protect: true,
          catch: (err) => logger.error({ err, job: job.id }, "scheduler error"),
        },
        async (self: Cron) => {
          const scheduledFor = self.currentRun() ?? new Date();
          const p = runner.run(job.id, { trigger: "schedule", scheduledFor });
          inFlight.add(p);
          try {
            await p;
          } finally {
            inFlight.delete(p);
          }
        },
      ),
  );
  logger.info({ jobs: runner.list().map((j) => `${j.id} (${j.cron})`) }, "scheduler started");
  return {
    async stop() {
      for (const c of crons) c.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}
