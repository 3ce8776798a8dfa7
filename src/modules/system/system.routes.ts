import { createRoute, z } from "@hono/zod-openapi";
import {
  apiProblemResponses,
  bearerSecurity,
  jsonContent,
  problemResponses,
  publicSecurity,
} from "../../http/openapi";

const CheckSchema = z
  .object({
    status: z.enum(["pass", "fail"]),
    latencyMs: z.number(),
    error: z.string().optional(),
  })
  .openapi("HealthCheck");

export const LiveSchema = z.object({ status: z.literal("pass") }).openapi("Liveness");

export const ReadySchema = z
  .object({ status: z.enum(["pass", "fail"]), checks: z.record(z.string(), CheckSchema) })
  .openapi("Readiness", {
    example: { status: "pass", checks: { database: { status: "pass", latencyMs: 0.4 } } },
  });

export const QuickHealthSchema = z
  .object({ status: z.literal("pass"), version: z.string(), time: z.string().datetime() })
  .openapi("HealthQuick");

const JobLastRun = z
  .object({
    status: z.enum(["running", "succeeded", "failed"]),
    startedAt: z.string().datetime(),
    durationMs: z.number().nullable(),
    error: z.string().nullable(),
  })
  .nullable();

export const DetailedHealthSchema = z
  .object({
    status: z.enum(["pass", "fail"]),
    version: z.string(),
    runtime: z.enum(["bun", "worker", "memory"]),
    instanceId: z.string(),
    uptimeSeconds: z.number(),
    database: z.object({ dialect: z.string(), latencyMs: z.number().nullable() }),
    checks: z.record(z.string(), CheckSchema),
    disk: z.object({ freeBytes: z.number(), totalBytes: z.number() }).nullable(),
    memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number() }).nullable(),
    queues: z.object({ outboxPending: z.number() }),
    jobs: z.record(z.string(), JobLastRun),
  })
  .openapi("HealthDetailed");

const tags = ["Health"];

export const liveRoute = createRoute({
  operationId: "getLiveness",
  method: "get",
  path: "/health/live",
  tags,
  summary: "Liveness probe",
  description: "200 while the process is up. Does not touch dependencies.",
  security: publicSecurity,
  responses: { 200: jsonContent(LiveSchema, "The process is up"), ...problemResponses() },
});

export const readyRoute = createRoute({
  operationId: "getReadiness",
  method: "get",
  path: "/health/ready",
  tags,
  summary: "Readiness probe",
  description:
    "200 when the database answers, migrations are current and Redis (when configured) answers; 503 naming the failing check otherwise.",
  security: publicSecurity,
  responses: {
    200: jsonContent(ReadySchema, "Ready to serve"),
    503: jsonContent(ReadySchema, "A dependency is failing; `checks` names it"),
    ...problemResponses(),
  },
});

export const quickRoute = createRoute({
  operationId: "getHealth",
  method: "get",
  path: "/api/v1/health",
  tags,
  summary: "Quick health",
  security: publicSecurity,
  responses: { 200: jsonContent(QuickHealthSchema, "The API answers"), ...apiProblemResponses() },
});

export const detailedRoute = createRoute({
  operationId: "getHealthDetailed",
  method: "get",
  path: "/api/v1/health/detailed",
  tags,
  summary: "Detailed health",
  description:
    "Database latency, disk, memory, uptime, version, queue depths and the last run of every job. Needs the operator token or `METRICS_TOKEN`.",
  security: bearerSecurity,
  responses: { 200: jsonContent(DetailedHealthSchema, "Health details"), ...apiProblemResponses(401, 403) },
});

export const metricsRoute = createRoute({
  operationId: "getMetrics",
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics",
  description:
    "Prometheus text exposition. Needs `Authorization: Bearer <METRICS_TOKEN>`; disabled (404) when no token is configured.",
  security: bearerSecurity,
  responses: {
    200: {
      description: "Metrics in Prometheus text format",
      content: { "text/plain": { schema: z.string() } },
    },
    ...problemResponses(401, 403, 404),
  },
});
