import { createRoute, z } from "@hono/zod-openapi";
import { WEEK_STARTS } from "../../db/schema";
import { LocalDateField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { isTimeZone } from "../../lib/time";
import { requirePermission } from "../auth/auth.middleware";
import { DIMENSIONS, ROUNDING_MINUTES } from "./reports.service";

const IdList = (example: string, description: string) =>
  z
    .string()
    .max(7_000)
    .refine((s) => {
      const list = s.split(",").map((x) => x.trim());
      return list.length <= 100 && list.every((x) => x.length > 0 && x.length <= 64);
    }, "must be a comma-separated list of at most 100 ids")
    .openapi({ example, description });

const Common = z.object({
  tz: z.string().max(64).refine(isTimeZone, "is not an IANA time zone").optional().openapi({
    example: "Europe/Berlin",
    description: "IANA time zone of the days (default: the organization's)",
  }),
  weekStart: z.enum(WEEK_STARTS).optional().openapi({ description: "Default: the organization's setting" }),
  rounding: z.enum(["none", "up", "down", "nearest"]).optional().openapi({
    description: "Rounding of durations (default none); `nearest` rounds halves up",
    example: "up",
  }),
  roundingMinutes: z
    .enum(ROUNDING_MINUTES.map(String) as [string, ...string[]])
    .optional()
    .openapi({ description: "Rounding unit in minutes (default 15)", example: "15" }),
  roundingScope: z.enum(["entry", "group"]).optional().openapi({
    description:
      "`entry` (default): round each entry's part within a local day, then sum; `group`: sum, then round each figure",
  }),
  billable: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "Billable entries only, or non-billable only" }),
  memberIds: IdList(
    "mem_01jd0s4r9q8m6w2v3x4y5z6a7c",
    "Only these members (comma-separated membership ids)",
  ).optional(),
  projectIds: IdList("prj_01jd0s4r9q8m6w2v3x4y5z6a7d", "Only these projects (comma-separated)").optional(),
});

const Range = {
  from: LocalDateField(
    "First local date (inclusive); default: the first day of the current week",
    "2026-03-23",
  ).optional(),
  to: LocalDateField(
    "Last local date (inclusive), at most 366 days from `from`; default: `from` + 6 days",
    "2026-03-29",
  ).optional(),
};

const Dimension = z.enum(DIMENSIONS);

export const SummaryQuerySchema = Common.extend({
  ...Range,
  groupBy: Dimension.default("project").openapi({ description: "Top-level grouping" }),
  subGroup: Dimension.optional().openapi({ description: "Second-level grouping inside each group" }),
});

const RoundingSchema = z
  .object({
    mode: z.enum(["none", "up", "down", "nearest"]),
    minutes: z.number().int().nullable(),
    scope: z.enum(["entry", "group"]),
  })
  .openapi("ReportRounding");

const figures = {
  seconds: z.number().int().openapi({ description: "Tracked time, rounded as asked", example: 27000 }),
  billableSeconds: z.number().int().openapi({ example: 18000 }),
  rawSeconds: z.number().int().openapi({ description: "Unrounded", example: 26880 }),
  entries: z
    .number()
    .int()
    .openapi({ description: "Distinct entries (an entry split at midnight counts once)" }),
};

const SubGroupSchema = z
  .object({
    key: z
      .string()
      .nullable()
      .openapi({ description: "Member id, project id (null: no project), date or week start" }),
    label: z.string().openapi({ example: "Website relaunch" }),
    ...figures,
  })
  .openapi("ReportSubGroup");

const GroupSchema = SubGroupSchema.extend({ subGroups: z.array(SubGroupSchema).optional() }).openapi(
  "ReportGroup",
);

export const SummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    tz: z.string(),
    weekStart: z.enum(WEEK_STARTS),
    groupBy: Dimension,
    subGroup: Dimension.nullable(),
    rounding: RoundingSchema,
    totals: z.object(figures),
    groups: z.array(GroupSchema),
  })
  .openapi("SummaryReport");

export const WeeklyQuerySchema = Common.extend({
  week: LocalDateField("Any date of the week (default: today in `tz`)", "2026-03-25").optional(),
});

export const WeeklySchema = z
  .object({
    start: z.string().openapi({ example: "2026-03-23" }),
    end: z.string().openapi({ example: "2026-03-29" }),
    tz: z.string(),
    weekStart: z.enum(WEEK_STARTS),
    days: z.array(z.string()).openapi({ description: "The seven local dates, in order" }),
    rounding: RoundingSchema,
    members: z.array(
      z.object({
        memberId: z.string(),
        label: z.string(),
        days: z.array(z.number().int()).openapi({ description: "Seconds per day, aligned with `days`" }),
        totalSeconds: z.number().int(),
      }),
    ),
    totals: z.object({ days: z.array(z.number().int()), totalSeconds: z.number().int() }),
  })
  .openapi("WeeklyReport");

export const DetailedQuerySchema = Common.merge(PageQuery).extend(Range);

export const DetailedSchema = z
  .object({
    from: z.string().openapi({ example: "2026-03-23" }),
    to: z.string().openapi({ example: "2026-03-29" }),
    tz: z.string(),
    data: z.array(
      z.object({
        id: z.string().openapi({ example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
        memberId: z.string(),
        memberName: z.string(),
        projectId: z.string().nullable(),
        projectName: z.string().nullable(),
        description: z.string(),
        billable: z.boolean(),
        start: z.string().datetime(),
        end: z.string().datetime(),
        seconds: z.number().int(),
        roundedSeconds: z.number().int(),
        tags: z.array(z.string()),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("DetailedReport");

const tags = ["Reports"];
const security = bearerSecurity;
const middleware = [requirePermission("reports:read")];

export const summaryRoute = createRoute({
  operationId: "getSummaryReport",
  method: "get",
  path: "/api/v1/reports/summary",
  tags,
  summary: "Summary report",
  description:
    "Tracked time grouped by member, project, local day or week (optional sub-group), over local dates `from`–`to` in `tz`. Entries crossing local midnight are split at midnight; running timers are not counted. Members see their own time; admins, managers and viewers the organization's.",
  security,
  middleware,
  request: { query: SummaryQuerySchema },
  responses: { 200: jsonContent(SummarySchema, "The report"), ...apiProblemResponses(401, 403, 422) },
});

export const detailedRoute = createRoute({
  operationId: "getDetailedReport",
  method: "get",
  path: "/api/v1/reports/detailed",
  tags,
  summary: "Detailed report",
  description:
    "The stopped entries overlapping local dates `from`–`to` in `tz`, whole, by start time, paginated. `roundedSeconds` rounds each entry. Other members' entries need `data:read_all`.",
  security,
  middleware,
  request: { query: DetailedQuerySchema },
  responses: { 200: jsonContent(DetailedSchema, "Entries"), ...apiProblemResponses(401, 403, 422) },
});

export const weeklyRoute = createRoute({
  operationId: "getWeeklyReport",
  method: "get",
  path: "/api/v1/reports/weekly",
  tags,
  summary: "Weekly report",
  description:
    "A member × day grid (seconds) for the week that contains `week`, starting on `weekStart`, in `tz`. Same attribution, rounding and visibility as the summary.",
  security,
  middleware,
  request: { query: WeeklyQuerySchema },
  responses: { 200: jsonContent(WeeklySchema, "The grid"), ...apiProblemResponses(401, 403, 422) },
});
