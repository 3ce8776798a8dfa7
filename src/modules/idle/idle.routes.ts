import { createRoute, z } from "@hono/zod-openapi";
import { IDLE_PERIOD_STATUSES } from "../../db/schema";
import { jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requireOwnTimer } from "../time/time.guards";
import { Instant, RefId, TimeEntrySchema } from "../time/time.routes";
import { IDLE_ACTIONS } from "./idle.service";

export const IdlePeriodSchema = z
  .object({
    id: z.string().openapi({ example: "idl_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
    entryId: z.string().openapi({ example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    start: z
      .string()
      .datetime()
      .openapi({ description: "The member's last input (or the timer's start, when later)" }),
    end: z.string().datetime().nullable().openapi({
      description: "First input after `start`, or the timer's stop; null while the member is still idle",
    }),
    ongoing: z.boolean(),
    durationSeconds: z.number().int().openapi({ description: "Up to now while ongoing", example: 2400 }),
    status: z.enum(IDLE_PERIOD_STATUSES).openapi({ description: "`open` until resolved" }),
    detectedAt: z.string().datetime().openapi({ description: "When the idle alert was raised" }),
    resolvedAt: z.string().datetime().nullable(),
    resolvedBy: z.string().nullable().openapi({ description: "User who resolved it" }),
    newEntryId: z.string().nullable().openapi({
      description: "Split: the entry holding the idle time. Discard: the entry for the time after it",
    }),
  })
  .openapi("IdlePeriod");

export const ListIdlePeriodsQuery = PageQuery.extend({
  memberId: RefId("mem_01jd0s4r9q8m6w2v3x4y5z6a7c")
    .optional()
    .openapi({ description: "Another member's idle periods (`data:read_all`)" }),
  all: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "`true`: every member's (`data:read_all`)" }),
  status: z
    .enum(IDLE_PERIOD_STATUSES)
    .optional()
    .openapi({ description: "`open`: the ones waiting for a decision" }),
  from: Instant.optional().openapi({ description: "Periods starting at or after this instant" }),
  to: Instant.optional().openapi({ description: "Periods starting before this instant" }),
});

const PeriodId = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "idl_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
});

export const ResolveIdlePeriodBody = z
  .strictObject({
    action: z.enum(IDLE_ACTIONS).openapi({
      description:
        "`keep`: the idle time stays tracked. `discard`: it leaves the entry (the time after it becomes a new entry). `split`: it becomes an entry of its own, flagged `idle_time`",
      example: "discard",
    }),
  })
  .openapi("ResolveIdlePeriodRequest");

const tags = ["Idle time"];
const security = bearerSecurity;
const WHO =
  "Your own, or with `data:read_all` anyone's; the member's desktop agent (agent token) may use it for its member.";

export const listIdlePeriodsRoute = createRoute({
  operationId: "listIdlePeriods",
  method: "get",
  path: "/api/v1/idle-periods",
  tags,
  summary: "List idle periods",
  description: `Stretches without input while a timer ran, at least the organization's \`idleAlertSeconds\` long (default 30 minutes), found within a minute by the \`idle.detect\` job, which raises the idle alert (\`idle.detected\`; an email when \`idleAlertEmail\` is on). Newest first; periods of deleted entries never appear. ${WHO}`,
  security,
  middleware: [requireOwnTimer("time:read")],
  request: { query: ListIdlePeriodsQuery },
  responses: {
    200: jsonContent(
      z
        .object({ data: z.array(IdlePeriodSchema), nextCursor: z.string().nullable() })
        .openapi("IdlePeriodPage"),
      "Idle periods",
    ),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const getIdlePeriodRoute = createRoute({
  operationId: "getIdlePeriod",
  method: "get",
  path: "/api/v1/idle-periods/{id}",
  tags,
  summary: "Get an idle period",
  description: `${WHO} Anything else is 404.`,
  security,
  middleware: [requireOwnTimer("time:read")],
  request: { params: PeriodId },
  responses: { 200: jsonContent(IdlePeriodSchema, "The idle period"), ...apiProblemResponses(401, 403, 404) },
});

export const resolveIdlePeriodRoute = createRoute({
  operationId: "resolveIdlePeriod",
  method: "post",
  path: "/api/v1/idle-periods/{id}/resolve",
  tags,
  summary: "Keep, discard or split idle time",
  description:
    "On the period's entry, in one atomic change: `keep` leaves it as it is; `discard` ends the entry where the idle time began and puts the time after it (still running, for a running timer) in a new entry with the same project, description, tags and billability — for a member still idle it just stops the timer there; `split` does the same and puts the idle time itself in an entry of its own between the two, flagged `idle_time` (409 `IDLE_PERIOD_ONGOING` while the member is still idle). An entry left with no time is deleted. Your own periods, or anyone's with `time:manage` (else 404); the member's desktop agent may resolve its member's. 409 `IDLE_PERIOD_RESOLVED` once resolved (the problem's `periodStatus` says how), `IDLE_PERIOD_NOT_IN_ENTRY` when the entry was edited so it no longer covers the idle time. Emits `idle.resolved` and the entries' events (`time_entry.updated`/`created`/`deleted`, `timer.stopped`/`started`).",
  security,
  middleware: [requireOwnTimer("time:write")],
  request: { params: PeriodId, body: jsonBody(ResolveIdlePeriodBody, { action: "discard" }) },
  responses: {
    200: jsonContent(
      z
        .object({
          idlePeriod: IdlePeriodSchema,
          entries: z.array(TimeEntrySchema).openapi({
            description:
              "The entry's time afterwards, in order: the entry itself first (absent when deleted), then the new entries",
          }),
        })
        .openapi("ResolvedIdlePeriod"),
      "The resolved period and the entries it left",
    ),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422),
  },
});
