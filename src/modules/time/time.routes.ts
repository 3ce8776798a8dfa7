import { createRoute, z } from "@hono/zod-openapi";
import { ENTRY_SOURCES } from "../../db/schema";
import { hasNoControlChars, jsonBody, MIN_INSTANT } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requirePermission } from "../auth/auth.middleware";
import { requireOwnTimer } from "./time.guards";

const MAX_INSTANT = Date.UTC(2100, 0, 1);

/** An ISO 8601 instant with an offset (`Z` or `±hh:mm`), between 2000 and 2100. */
export const Instant = z
  .string()
  .datetime({ offset: true })
  .refine((s) => {
    const t = Date.parse(s);
    return t >= MIN_INSTANT && t < MAX_INSTANT;
  }, "must be between 2000-01-01 and 2100-01-01")
  .openapi({ example: "2026-03-02T09:00:00Z" });

export const RefId = (example: string) => z.string().min(1).max(64).openapi({ example });

const Description = z
  .string()
  .trim()
  .max(1000)
  .refine(hasNoControlChars, "must not contain control characters")
  .openapi({ example: "Sprint planning" });

const TagIds = z
  .array(RefId("tag_01jd0s4r9q8m6w2v3x4y5z6a7b"))
  .max(20)
  .openapi({ description: "Replaces the entry's tags; duplicates are ignored" });

export const TimeEntrySchema = z
  .object({
    id: z.string().openapi({ example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
    projectId: z.string().nullable().openapi({ example: "prj_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    description: z.string().openapi({ example: "Sprint planning" }),
    billable: z.boolean(),
    start: z.string().datetime().openapi({ example: "2026-03-02T09:00:00.000Z" }),
    end: z.string().datetime().nullable().openapi({ description: "Null while the timer runs" }),
    running: z.boolean(),
    durationSeconds: z
      .number()
      .int()
      .openapi({ description: "Up to now for a running timer", example: 5400 }),
    source: z.enum(ENTRY_SOURCES),
    flag: z
      .string()
      .nullable()
      .openapi({ description: "Why the entry needs a look: `max_duration`, `stale_timer`", example: null }),
    tagIds: z.array(z.string()),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("TimeEntry");

export const StartTimerBody = z
  .strictObject({
    projectId: RefId("prj_01jd0s4r9q8m6w2v3x4y5z6a7d").nullable().optional(),
    description: Description.optional(),
    billable: z.boolean().optional().openapi({ description: "Defaults to the project's `billable`" }),
    tagIds: TagIds.optional(),
  })
  .openapi("StartTimerRequest");

export const CreateEntryBody = z
  .strictObject({
    start: Instant,
    end: Instant.openapi({ example: "2026-03-02T10:30:00Z" }),
    projectId: RefId("prj_01jd0s4r9q8m6w2v3x4y5z6a7d").nullable().optional(),
    description: Description.optional(),
    billable: z.boolean().optional().openapi({ description: "Defaults to the project's `billable`" }),
    tagIds: TagIds.optional(),
    memberId: RefId("mem_01jd0s4r9q8m6w2v3x4y5z6a7c")
      .optional()
      .openapi({ description: "Another member's entry (`time:manage`); yourself by default" }),
  })
  .openapi("CreateTimeEntryRequest");

export const UpdateEntryBody = z
  .strictObject({
    start: Instant.optional(),
    end: Instant.optional(),
    projectId: RefId("prj_01jd0s4r9q8m6w2v3x4y5z6a7d").nullable().optional(),
    description: Description.optional(),
    billable: z.boolean().optional(),
    tagIds: TagIds.optional(),
  })
  .openapi("UpdateTimeEntryRequest");

export const ListEntriesQuery = PageQuery.extend({
  memberId: RefId("mem_01jd0s4r9q8m6w2v3x4y5z6a7c")
    .optional()
    .openapi({ description: "Another member's entries (`data:read_all`)" }),
  all: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "`true`: every member's (`data:read_all`)" }),
  from: Instant.optional().openapi({ description: "Entries starting at or after this instant" }),
  to: Instant.optional().openapi({ description: "Entries starting before this instant" }),
  projectId: RefId("prj_01jd0s4r9q8m6w2v3x4y5z6a7d").optional(),
  tagId: RefId("tag_01jd0s4r9q8m6w2v3x4y5z6a7b").optional(),
  billable: z.enum(["true", "false"]).optional(),
});

const EntryId = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
});

const timerTags = ["Timer"];
const entryTags = ["Time entries"];
const security = bearerSecurity;

export const getTimerRoute = createRoute({
  operationId: "getTimer",
  method: "get",
  path: "/api/v1/timer",
  tags: timerTags,
  summary: "The caller's running timer",
  description: "`timer` is null when none runs. Agent tokens may call it for their member.",
  security,
  middleware: [requireOwnTimer("time:read")],
  responses: {
    200: jsonContent(z.object({ timer: TimeEntrySchema.nullable() }).openapi("CurrentTimer"), "The timer"),
    ...apiProblemResponses(401, 403),
  },
});

export const startTimerRoute = createRoute({
  operationId: "startTimer",
  method: "post",
  path: "/api/v1/timer/start",
  tags: timerTags,
  summary: "Start a timer",
  description:
    "One timer runs per member. Timer mode `stop_previous` (default) stops a running timer at the same instant; `refuse` answers 409 `TIMER_RUNNING`. With overlap policy `refuse`, a timer cannot start inside another entry (409 `ENTRY_OVERLAP`). Emits `timer.started` (and `timer.stopped`). Agent tokens may call it for their member.",
  security,
  middleware: [requireOwnTimer("time:write")],
  request: {
    body: jsonBody(
      StartTimerBody,
      { projectId: "prj_01jd0s4r9q8m6w2v3x4y5z6a7d", description: "Code review" },
      false,
    ),
  },
  responses: {
    201: jsonContent(TimeEntrySchema, "The running timer"),
    ...apiProblemResponses(401, 403, 409, 415, 422),
  },
});

export const stopTimerRoute = createRoute({
  operationId: "stopTimer",
  method: "post",
  path: "/api/v1/timer/stop",
  tags: timerTags,
  summary: "Stop the running timer",
  description:
    "Stops the caller's timer now (409 `TIMER_NOT_RUNNING` when none runs). A timer running longer than 7 days ends 7 days after its start, flagged `max_duration`. Emits `timer.stopped`.",
  security,
  middleware: [requireOwnTimer("time:write")],
  responses: {
    200: jsonContent(TimeEntrySchema, "The stopped entry"),
    ...apiProblemResponses(401, 403, 409),
  },
});

export const listEntriesRoute = createRoute({
  operationId: "listTimeEntries",
  method: "get",
  path: "/api/v1/time-entries",
  tags: entryTags,
  summary: "List time entries",
  description:
    "Your own entries by default, newest start first; `memberId` or `all=true` need `data:read_all`. Soft-deleted entries never appear.",
  security,
  middleware: [requirePermission("time:read")],
  request: { query: ListEntriesQuery },
  responses: {
    200: jsonContent(
      z
        .object({ data: z.array(TimeEntrySchema), nextCursor: z.string().nullable() })
        .openapi("TimeEntryPage"),
      "Entries",
    ),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const createEntryRoute = createRoute({
  operationId: "createTimeEntry",
  method: "post",
  path: "/api/v1/time-entries",
  tags: entryTags,
  summary: "Create a manual time entry",
  description:
    "`end` after `start`, at most 24 hours. Project and tags must be active ones of your organization (422 naming the field). With overlap policy `refuse`, an overlapping entry is 409 `ENTRY_OVERLAP` with `conflictingEntryId`. Emits `time_entry.created`.",
  security,
  middleware: [requirePermission("time:write")],
  request: {
    body: jsonBody(CreateEntryBody, {
      start: "2026-03-02T09:00:00Z",
      end: "2026-03-02T10:30:00Z",
      projectId: "prj_01jd0s4r9q8m6w2v3x4y5z6a7d",
      description: "Sprint planning",
    }),
  },
  responses: {
    201: jsonContent(TimeEntrySchema, "Created"),
    ...apiProblemResponses(401, 403, 409, 415, 422),
  },
});

export const getEntryRoute = createRoute({
  operationId: "getTimeEntry",
  method: "get",
  path: "/api/v1/time-entries/{id}",
  tags: entryTags,
  summary: "Get a time entry",
  description: "Your own, or anyone's with `data:read_all`. Anything else, deleted ones included, is 404.",
  security,
  middleware: [requirePermission("time:read")],
  request: { params: EntryId },
  responses: { 200: jsonContent(TimeEntrySchema, "The entry"), ...apiProblemResponses(401, 403, 404) },
});

export const updateEntryRoute = createRoute({
  operationId: "updateTimeEntry",
  method: "patch",
  path: "/api/v1/time-entries/{id}",
  tags: entryTags,
  summary: "Edit a time entry",
  description:
    "Your own entry, or anyone's with `time:manage` (else 404). Changed times are re-validated (24 h, overlap policy); a running timer's `end` cannot be set here. Emits `time_entry.updated`.",
  security,
  middleware: [requirePermission("time:write")],
  request: { params: EntryId, body: jsonBody(UpdateEntryBody, { description: "Planning", billable: true }) },
  responses: {
    200: jsonContent(TimeEntrySchema, "The entry after the change"),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422),
  },
});

export const deleteEntryRoute = createRoute({
  operationId: "deleteTimeEntry",
  method: "delete",
  path: "/api/v1/time-entries/{id}",
  tags: entryTags,
  summary: "Delete a time entry",
  description:
    "Soft delete: the entry leaves lists and reports at once. Same access as editing. Emits `time_entry.deleted`.",
  security,
  middleware: [requirePermission("time:write")],
  request: { params: EntryId },
  responses: { 204: { description: "Deleted" }, ...apiProblemResponses(401, 403, 404, 409) },
});
