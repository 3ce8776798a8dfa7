import { and, desc, eq, lt, ne, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { jobRuns } from "../db/schema";
import type { EventBus } from "../events/bus";
import { randomToken } from "../lib/crypto";
import { newId } from "../lib/ids";
import type { Platform } from "../ports/platform";
import type { JobDefinition } from "./define";

export type JobRun = typeof jobRuns.$inferSelect;

export type RunOutcome =
  | { status: "succeeded" | "failed"; run: JobRun }
  | { status: "skipped"; reason: "already-running" | "tick-taken" | "unknown-job" };

const DEFAULT_TIMEOUT_MS = 15 * 60_000;
/** How long a claimed tick stays claimed; longer than any clock skew between instances. */
const TICK_CLAIM_MS = 10 * 60_000;

/**
 * Runs registered jobs, at most once per cron tick across all instances and never overlapping itself.
 *
 * Two KvStore locks make that true with N instances sharing Redis:
 * - the tick claim `job:tick:<id>:<tick>` is never released (it expires), so an instance whose clock
 *   is a little late cannot re-run a tick another instance already finished;
 * - the running lock `job:running:<id>` holds while a run is in progress (manual runs included) and
 *   is released only by its owner.
 */
export class JobRunner {
  readonly #jobs = new Map<string, JobDefinition>();

  constructor(
    private readonly platform: Platform,
    private readonly events: EventBus,
  ) {}

  register(...jobs: JobDefinition[]): void {
    for (const job of jobs) {
      if (this.#jobs.has(job.id)) throw new Error(`job ${job.id} registered twice`);
      this.#jobs.set(job.id, job);
    }
  }

  list(): JobDefinition[] {
    return [...this.#jobs.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): JobDefinition | undefined {
    return this.#jobs.get(id);
  }

  /** Distinct crons, for Cron Triggers and the Bun scheduler. */
  crons(): string[] {
    return [...new Set(this.list().map((j) => j.cron))].sort();
  }

  /** Runs every job on this cron (the Workers `scheduled()` entry point). */
  async runDue(cron: string, scheduledFor: Date): Promise<RunOutcome[]> {
    const due = this.list().filter((j) => j.cron === cron);
    return Promise.all(due.map((j) => this.run(j.id, { trigger: "schedule", scheduledFor })));
  }

  async run(id: string, opts: { trigger: JobRun["trigger"]; scheduledFor?: Date }): Promise<RunOutcome> {
    const job = this.#jobs.get(id);
    if (!job) return { status: "skipped", reason: "unknown-job" };
    const { kv, clock, logger, metrics, instanceId } = this.platform;
    const scheduledFor = opts.scheduledFor ?? clock.now();
    const log = logger.child({ job: id, trigger: opts.trigger });

    if (opts.trigger === "schedule") {
      const tick = Math.floor(scheduledFor.getTime() / 60_000) * 60_000;
      if (!(await kv.setIfAbsent(`job:tick:${id}:${tick}`, instanceId, TICK_CLAIM_MS))) {
        log.debug("tick already claimed by another instance");
        return { status: "skipped", reason: "tick-taken" };
      }
    }
    const owner = `${instanceId}:${randomToken(9)}`;
    const lockKey = `job:running:${id}`;
    if (!(await kv.setIfAbsent(lockKey, owner, job.timeoutMs ?? DEFAULT_TIMEOUT_MS))) {
      log.info("skipped: a run is already in progress");
      return { status: "skipped", reason: "already-running" };
    }

    const db = this.platform.db;
    const startedAt = clock.now();
    const runId = newId("jobRun", startedAt);
    const started = performance.now();
    try {
      await db.insert(jobRuns).values({
        id: runId,
        jobId: id,
        trigger: opts.trigger,
        status: "running",
        scheduledFor: opts.trigger === "schedule" ? scheduledFor : null,
        startedAt,
        instanceId,
      });
      let status: "succeeded" | "failed" = "succeeded";
      let error: string | null = null;
      let result: string | null = null;
      try {
        const out = await job.run({
          platform: this.platform,
          events: this.events,
          scheduledFor,
          trigger: opts.trigger,
          logger: log,
          lastSucceededAt: () => this.#lastSucceededAt(id, runId),
        });
        result = out ? JSON.stringify(out) : null;
      } catch (err) {
        status = "failed";
        error = String((err as Error)?.message ?? err).slice(0, 2000);
        log.error({ err }, "job failed");
      }
      const durationMs = Math.round(performance.now() - started);
      const [run] = await db
        .update(jobRuns)
        .set({ status, error, result, finishedAt: clock.now(), durationMs })
        .where(eq(jobRuns.id, runId))
        .returning();
      metrics.jobRun({ job: id, status }, durationMs / 1000);
      log.info({ runId, status, durationMs }, "job run finished");
      return { status, run: run! };
    } finally {
      await kv.deleteIfEquals(lockKey, owner).catch((err) => log.warn({ err }, "could not release job lock"));
    }
  }

  async #lastSucceededAt(jobId: string, exceptRunId: string): Promise<Date | null> {
    const [run] = await this.platform.db
      .select({ startedAt: jobRuns.startedAt })
      .from(jobRuns)
      .where(and(eq(jobRuns.jobId, jobId), eq(jobRuns.status, "succeeded"), ne(jobRuns.id, exceptRunId)))
      .orderBy(desc(jobRuns.startedAt))
      .limit(1);
    return run?.startedAt ?? null;
  }

  async lastRuns(db: Db = this.platform.db): Promise<Record<string, JobRun | null>> {
    const out: Record<string, JobRun | null> = {};
    for (const job of this.list()) {
      const [run] = await db
        .select()
        .from(jobRuns)
        .where(eq(jobRuns.jobId, job.id))
        .orderBy(desc(jobRuns.startedAt))
        .limit(1);
      out[job.id] = run ?? null;
    }
    return out;
  }

  /** Newest first, keyset-paginated on (startedAt, id). Returns up to limit + 1 rows (the extra one says "more"). */
  async runs(jobId: string, limit: number, before?: { startedAt: number; id: string }): Promise<JobRun[]> {
    const at = before ? new Date(before.startedAt) : null;
    const where =
      before && at
        ? and(
            eq(jobRuns.jobId, jobId),
            or(lt(jobRuns.startedAt, at), and(eq(jobRuns.startedAt, at), lt(jobRuns.id, before.id))),
          )
        : eq(jobRuns.jobId, jobId);
    return this.platform.db
      .select()
      .from(jobRuns)
      .where(where)
      .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
      .limit(limit + 1);
  }
}
