import { z } from "@hono/zod-openapi";
import { requirePrincipal } from "../../http/middleware/auth";
import type { Router } from "../../http/openapi";
import type { JobRun } from "../../jobs/runner";
import { AppError } from "../../lib/errors";
import { CursorInstant, decodeCursor, nextLink, pageOf } from "../../lib/pagination";
import { listJobsRoute, listRunsRoute, runJobRoute } from "./jobs.routes";

export function serializeRun(r: JobRun) {
  return {
    id: r.id,
    jobId: r.jobId,
    trigger: r.trigger,
    status: r.status,
    scheduledFor: r.scheduledFor?.toISOString() ?? null,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationMs: r.durationMs,
    error: r.error,
    result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
    instanceId: r.instanceId,
  };
}

const RunCursor = z.object({ s: CursorInstant, i: z.string().max(64) });

export function registerJobs(app: Router): void {
  app.use("/api/v1/admin/*", requirePrincipal("operator"));
  // The "api" rate limit (per caller, here the operator token) is applied in http/middleware/limits.ts.

  app.openapi(listJobsRoute, async (c) => {
    const { jobs } = c.get("services");
    const last = await jobs.lastRuns();
    const data = jobs.list().map((j) => ({
      id: j.id,
      cron: j.cron,
      description: j.description,
      lastRun: last[j.id] ? serializeRun(last[j.id]!) : null,
    }));
    return c.json({ data }, 200);
  });

  app.openapi(runJobRoute, async (c) => {
    const { id } = c.req.valid("param");
    // The body is optional: without one (or without a JSON content type) validation is skipped.
    const wait = (c.req.valid("json") as { wait?: boolean } | undefined)?.wait ?? true;
    const { jobs, events } = c.get("services");
    if (!jobs.get(id)) throw new AppError(404, "JOB_NOT_FOUND", `No job "${id}"`);
    const event = (runId: string | null) =>
      events.create("job.triggered", { jobId: id, runId, trigger: "manual" }, { actor: "operator" });
    if (!wait) {
      c.get("defer")(
        jobs
          .run(id, { trigger: "manual" })
          .then((o) => events.emit(event(o.status === "skipped" ? null : o.run.id))),
      );
      return c.json({ jobId: id, accepted: true as const }, 202);
    }
    const outcome = await jobs.run(id, { trigger: "manual" });
    if (outcome.status === "skipped")
      throw new AppError(409, "JOB_ALREADY_RUNNING", `Job "${id}" is already running`);
    await events.emit(event(outcome.run.id));
    return c.json(serializeRun(outcome.run), 200);
  });

  app.openapi(listRunsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const { jobs } = c.get("services");
    if (!jobs.get(id)) throw new AppError(404, "JOB_NOT_FOUND", `No job "${id}"`);
    const before = cursor ? decodeCursor(cursor, RunCursor) : undefined;
    const rows = await jobs.runs(id, limit, before ? { startedAt: before.s, id: before.i } : undefined);
    const page = pageOf(rows, limit, (r) => ({ s: r.startedAt.getTime(), i: r.id }));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json({ data: page.data.map(serializeRun), nextCursor: page.nextCursor }, 200);
  });
}
