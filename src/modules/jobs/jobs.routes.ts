import { createRoute, z } from "@hono/zod-openapi";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";

export const JobRunSchema = z
  .object({
    id: z.string().openapi({ example: "jrun_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    jobId: z.string().openapi({ example: "db.optimize" }),
    trigger: z.enum(["schedule", "manual", "cli"]),
    status: z.enum(["running", "succeeded", "failed"]),
    scheduledFor: z.string().datetime().nullable(),
    startedAt: z.string().datetime(),
    finishedAt: z.string().datetime().nullable(),
    durationMs: z.number().int().nullable(),
    error: z.string().nullable(),
    result: z.record(z.string(), z.unknown()).nullable(),
    instanceId: z.string(),
  })
  .openapi("JobRun");

export const JobSchema = z
  .object({
    id: z.string().openapi({ example: "db.optimize" }),
    cron: z.string().openapi({ example: "0 4 * * *", description: "Five-field cron, UTC" }),
    description: z.string(),
    lastRun: JobRunSchema.nullable(),
  })
  .openapi("Job");

const JobIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "db.optimize" }),
});

const tags = ["Jobs"];

export const listJobsRoute = createRoute({
  operationId: "listJobs",
  method: "get",
  path: "/api/v1/admin/jobs",
  tags,
  summary: "List scheduled jobs",
  description: "Every registered job with its cron (UTC) and its last run. Operator credentials.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(z.object({ data: z.array(JobSchema) }).openapi("JobList"), "Jobs"),
    ...apiProblemResponses(401, 403, 429),
  },
});

export const RunJobBody = z
  .strictObject({
    wait: z
      .boolean()
      .default(true)
      .openapi({ description: "Wait for the run to finish (200) or return at once (202)." }),
  })
  .openapi("RunJobRequest");

export const runJobRoute = createRoute({
  operationId: "runJob",
  method: "post",
  path: "/api/v1/admin/jobs/{id}/run",
  tags,
  summary: "Run a job now",
  description:
    "Runs the job outside its schedule. Refused with 409 while a run of the same job is in progress on any instance.",
  security: bearerSecurity,
  request: {
    params: JobIdParam,
    body: {
      required: false,
      content: { "application/json": { schema: RunJobBody, example: { wait: true } } },
    },
  },
  responses: {
    200: jsonContent(JobRunSchema, "The finished run (succeeded or failed)"),
    202: jsonContent(
      z.object({ jobId: z.string(), accepted: z.literal(true) }).openapi("JobRunAccepted"),
      "Started; see its runs",
    ),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422, 429),
  },
});

export const listRunsRoute = createRoute({
  operationId: "listJobRuns",
  method: "get",
  path: "/api/v1/admin/jobs/{id}/runs",
  tags,
  summary: "List a job's runs",
  description: "Newest first, cursor-paginated.",
  security: bearerSecurity,
  request: { params: JobIdParam, query: PageQuery },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(JobRunSchema), nextCursor: z.string().nullable() }).openapi("JobRunPage"),
      "Runs",
    ),
    ...apiProblemResponses(401, 403, 404, 422, 429),
  },
});
