import type { EventBus } from "../events/bus";
import type { Platform } from "../ports/platform";

export interface JobContext {
  platform: Platform;
  events: EventBus;
  /** The cron tick being run, or the trigger time for manual runs. */
  scheduledFor: Date;
  trigger: "schedule" | "manual" | "cli";
  logger: Platform["logger"];
  /**
   * Start of this job's last successful run before this one (any trigger), null when there is none:
   * for jobs that catch up on what happened since they last ran (downtime included).
   */
  lastSucceededAt(): Promise<Date | null>;
}

/** What a job reports about its work; stored as JSON on its run row. */
export type JobResult = Record<string, string | number | boolean | null | undefined> | undefined;

export interface JobDefinition {
  /** `<area>.<verb-noun>`, e.g. `db.optimize`. Stable: it names runs, locks and metrics. */
  id: string;
  /** Five-field cron, UTC. The same string is a Cron Trigger in wrangler.toml. */
  cron: string;
  description: string;
  /** Upper bound of one run; the cross-instance lock expires after it. Default 15 min. */
  timeoutMs?: number;
  run(ctx: JobContext): Promise<JobResult>;
}

const FIVE_FIELDS = /^(\S+\s+){4}\S+$/;

export function defineJob(job: JobDefinition): JobDefinition {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(job.id))
    throw new Error(`job id "${job.id}" must look like area.name`);
  if (!FIVE_FIELDS.test(job.cron.trim())) throw new Error(`job ${job.id}: cron must have five fields (UTC)`);
  return job;
}
