import { createRoute, z } from "@hono/zod-openapi";
import { hasNoControlChars, jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { requireAgent } from "../tokens/tokens.guards";

export const MAX_BATCH = 500;
/** One heartbeat covers at most an hour; agents send them every few seconds to a minute. */
export const MAX_DURATION_SECONDS = 3_600;
/** Agent clocks drift: a heartbeat may be this far ahead of the server's clock. */
export const MAX_CLOCK_SKEW_MS = 10 * 60_000;

const text = (max: number) =>
  z.string().trim().max(max).refine(hasNoControlChars, "must not contain control characters");

const count = z.number().int().min(0).max(1_000_000);

export const HeartbeatSchema = z
  .strictObject({
    // Printable ASCII, so that code and SQLite order client ids alike (the sort key's tie-breaker).
    id: z
      .string()
      .regex(/^[\x21-\x7e]{1,64}$/, "must be 1–64 printable ASCII characters without spaces")
      .openapi({
        example: "7f3c2a9e-1b4d-4c8e-9f00-2d6b1a3c5e7f",
        description:
          "Client-generated id (1–64 printable ASCII characters, e.g. a UUID); with `time` it identifies the heartbeat: one sent again with the same `id` and `time` is a duplicate",
      }),
    time: z
      .string()
      .datetime({ offset: true })
      .openapi({ example: "2026-03-02T09:15:30Z", description: "When the observation started (ISO 8601)" }),
    duration: z
      .number()
      .min(0)
      .max(MAX_DURATION_SECONDS)
      .openapi({ example: 30, description: `Seconds the observation covers (0–${MAX_DURATION_SECONDS})` }),
    app: text(256).min(1).openapi({ example: "Code" }),
    title: text(1024).nullish().openapi({ example: "ingest.repo.ts — teamtrack" }),
    url: text(2048).nullish().openapi({ example: "https://github.com/teamtrack/teamtrack/pulls" }),
    idle: z.boolean().openapi({ example: false, description: "No user input during the observation" }),
    keyboard: count.nullish().openapi({ example: 42, description: "Key presses during the observation" }),
    mouse: count.nullish().openapi({ example: 17, description: "Mouse events during the observation" }),
  })
  .openapi("Heartbeat");

export const IngestHeartbeatsBody = z
  .strictObject({ heartbeats: z.array(HeartbeatSchema).min(1).max(MAX_BATCH) })
  .openapi("IngestHeartbeatsRequest");

export const IngestResultSchema = z
  .object({
    accepted: z.number().int().openapi({ example: 49, description: "Heartbeats stored by this request" }),
    duplicates: z.number().int().openapi({
      example: 1,
      description:
        "Heartbeats already stored (same `id` and `time` for this member), or repeated within the batch",
    }),
    dropped: z
      .number()
      .int()
      .openapi({ example: 0, description: "Discarded by the organization's privacy rules" }),
    status: z
      .enum(["active", "idle", "offline"])
      .openapi({ example: "active", description: "Your presence now" }),
  })
  .openapi("IngestHeartbeatsResult");

export const ingestHeartbeatsRoute = createRoute({
  operationId: "ingestHeartbeats",
  method: "post",
  path: "/api/v1/ingest/heartbeats",
  tags: ["Ingest"],
  summary: "Send a batch of heartbeats",
  description: [
    "Agent tokens only (other credentials: 403). A batch of 1–500 heartbeats of the agent's member.",
    "",
    "- **Idempotent** by (member, `id`, `time`): a retried batch stores nothing twice and answers with `duplicates`. A heartbeat is its `id` at its `time` (to the millisecond: finer digits are ignored): an `id` sent again with another `time` is another heartbeat.",
    "- **Spans**: heartbeats are merged as ActivityWatch does: in time order, a heartbeat with the same `app`, `title`, `url` and `idle` as the current span that starts at most the organization's `pulsetimeSeconds` after the span's end extends it; otherwise it starts a new span and the previous one is clipped at its start. Order of delivery does not matter: spans are rebuilt from the stored heartbeats, so late and out-of-order heartbeats give the same spans as an in-order stream.",
    "- **Privacy rules** of the organization are applied before anything is stored: `drop` discards a heartbeat whose field matches, `redact` stores `[redacted]` instead of the value (a redacted `url` records no domain).",
    "- **Presence**: sets your last-seen time and status: `idle` when the newest heartbeat of each of your agents heard from in the last 5 minutes is idle (one device left idle does not make you idle while you work on another), or when no heartbeat showed input (not idle, and non-zero `keyboard`/`mouse` when sent) for the organization's `idleThresholdSeconds`, else `active`.",
    `- \`time\` may be at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the server's clock.`,
  ].join("\n"),
  security: bearerSecurity,
  middleware: [requireAgent()] as const,
  request: {
    body: jsonBody(IngestHeartbeatsBody, {
      heartbeats: [
        {
          id: "7f3c2a9e-1b4d-4c8e-9f00-2d6b1a3c5e7f",
          time: "2026-03-02T09:15:30Z",
          duration: 30,
          app: "Firefox",
          title: "Pull requests · teamtrack",
          url: "https://github.com/teamtrack/teamtrack/pulls",
          idle: false,
          keyboard: 12,
          mouse: 40,
        },
      ],
    }),
  },
  responses: {
    200: jsonContent(IngestResultSchema, "Stored; counts of this batch"),
    ...apiProblemResponses(401, 403, 409, 413, 415, 422),
  },
});
