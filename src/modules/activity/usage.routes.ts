import { createRoute, z } from "@hono/zod-openapi";
import { LocalDateField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { requirePermission } from "../auth/auth.middleware";
import { MemberIdParam, TimeZoneField } from "../members/members.routes";

export const MAX_USAGE_DAYS = 31;

export const AppUsageQuery = z.object({
  date: LocalDateField("One local day (default: today in `tz`)").optional(),
  from: LocalDateField("First local day of a range (with `to`)").optional(),
  to: LocalDateField(`Last local day of a range, inclusive (at most ${MAX_USAGE_DAYS} days)`).optional(),
  tz: TimeZoneField.optional().openapi({ description: "IANA time zone of the days (default: the member's)" }),
});

export const TimelineQuery = z.object({
  date: LocalDateField("The local day (default: today in `tz`)").optional(),
  tz: TimeZoneField.optional().openapi({ description: "IANA time zone of the day (default: the member's)" }),
});

const Iso = z.string().datetime();

const UsageItem = z.object({
  name: z.string().openapi({ example: "Code" }),
  activeSeconds: z.number().int().openapi({ example: 9000 }),
  idleSeconds: z.number().int().openapi({ example: 300 }),
});

export const AppUsageSchema = z
  .object({
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    tz: z.string().openapi({ example: "Europe/Berlin" }),
    from: z.string().openapi({ example: "2026-03-02" }),
    to: z.string().openapi({ example: "2026-03-02" }),
    days: z.array(
      z.object({
        date: z.string().openapi({ example: "2026-03-02" }),
        activeSeconds: z.number().int(),
        idleSeconds: z.number().int(),
        apps: z.array(UsageItem).openapi({ description: "By active time, most first" }),
        domains: z.array(UsageItem).openapi({ description: "Hosts of the URLs heartbeats carried" }),
      }),
    ),
  })
  .openapi("AppUsage");

const Segment = z.object({
  start: Iso,
  end: Iso,
  app: z.string().openapi({ example: "Code" }),
  title: z.string().nullable().openapi({ example: "usage.repo.ts — teamtrack" }),
  url: z.string().nullable(),
  domain: z.string().nullable().openapi({ example: "github.com" }),
  idle: z.boolean(),
});

const EntrySlice = z.object({
  entryId: z.string().openapi({ example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
  projectId: z.string().nullable(),
  description: z.string(),
  billable: z.boolean(),
  running: z.boolean(),
  start: Iso.openapi({ description: "Within this hour" }),
  end: Iso,
});

const Totals = {
  activeSeconds: z.number().int().openapi({ example: 3300 }),
  idleSeconds: z.number().int().openapi({ example: 300 }),
  trackedSeconds: z.number().int().openapi({ example: 3600 }),
};

export const TimelineSchema = z
  .object({
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    date: z.string().openapi({ example: "2026-03-29" }),
    tz: z.string().openapi({ example: "Europe/Berlin" }),
    start: Iso.openapi({ description: "Local midnight (UTC instant)" }),
    end: Iso.openapi({
      description: "Next local midnight: usually 24 hours later, less or more across a DST change",
    }),
    totals: z.object(Totals),
    hours: z.array(
      z.object({
        hour: z.string().openapi({ example: "03:00", description: "Local wall-clock hour" }),
        offset: z.string().openapi({ example: "+02:00", description: "UTC offset during this hour" }),
        start: Iso,
        end: Iso,
        ...Totals,
        activity: z.array(Segment).openapi({ description: "Activity spans clipped to this hour" }),
        entries: z.array(EntrySlice).openapi({ description: "Time entries clipped to this hour" }),
      }),
    ),
  })
  .openapi("Timeline");

const tags = ["Activity"];

export const appUsageRoute = createRoute({
  operationId: "getMemberAppUsage",
  method: "get",
  path: "/api/v1/members/{id}/app-usage",
  tags,
  summary: "A member's app and domain usage per day",
  description:
    "Active and idle seconds per local day and app, and per day and domain, from the member's activity spans. `date` for one day or `from`/`to` for a range; days are in `tz` (default: the member's time zone). Your own (`me`), or anyone's with `data:read_all` (admins, managers); another organization's id is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { params: MemberIdParam, query: AppUsageQuery },
  responses: {
    200: jsonContent(AppUsageSchema, "Usage per day"),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const timelineRoute = createRoute({
  operationId: "getMemberTimeline",
  method: "get",
  path: "/api/v1/members/{id}/timeline",
  tags,
  summary: "A member's day, hour by hour",
  description:
    "Activity spans and time entries of one local day, grouped by local hour of `tz` (default: the member's time zone). A day has 23 or 25 hours when DST begins or ends; on a fall-back day the repeated hour appears twice with its two UTC offsets. Each hour is labelled with the wall-clock time and offset at its start: where the clock moves by 30 minutes (Australia/Lord_Howe) the hour it jumps into or repeats is a half hour such as `02:30`. Your own (`me`), or anyone's with `data:read_all`; another organization's id is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { params: MemberIdParam, query: TimelineQuery },
  responses: {
    200: jsonContent(TimelineSchema, "The day"),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});
