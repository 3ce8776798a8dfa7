import { createRoute, z } from "@hono/zod-openapi";
import { OVERLAP_POLICIES, TIMER_MODES, WEEK_STARTS } from "../../db/schema";
import { jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { isTimeZone } from "../../lib/time";
import { requirePermission } from "../auth/auth.middleware";
import {
  MAX_PATTERN_LENGTH,
  MAX_PRIVACY_RULES,
  MAX_RULES_PROGRAM,
  PRIVACY_ACTIONS,
  PRIVACY_FIELDS,
  patternProblem,
  programSize,
} from "./tracking-settings.service";

export const TimeZoneField = z
  .string()
  .max(64)
  .refine(isTimeZone, "is not an IANA time zone")
  .openapi({ example: "Europe/Berlin", description: "IANA time zone" });

export const WeekStartField = z.enum(WEEK_STARTS).openapi("WeekStart", { example: "monday" });

export const PrivacyRuleSchema = z
  .strictObject({
    field: z.enum(PRIVACY_FIELDS).openapi({ example: "title" }),
    pattern: z
      .string()
      .min(1)
      .max(MAX_PATTERN_LENGTH)
      .superRefine((p, ctx) => {
        const problem = patternProblem(p);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .openapi({
        example: "(?:bank|payroll)",
        description:
          "RE2 regular expression (linear-time matching; no lookaround or backreferences), matched anywhere in the value; case-sensitive unless it starts with `(?i)`",
      }),
    action: z.enum(PRIVACY_ACTIONS).openapi({ example: "redact" }),
  })
  .openapi("PrivacyRule", {
    description:
      "Applied at ingest, before anything is stored: `drop` discards the heartbeat (or the screenshot, image included), `redact` stores `[redacted]` instead of the field. Screenshots have `app` and `title`, no `url`. Not retroactive: what was stored before a rule stays as it was",
  });

const seconds = (min: number, max: number, example: number, description: string) =>
  z.number().int().min(min).max(max).openapi({ example, description });

const fields = {
  timezone: TimeZoneField,
  weekStart: WeekStartField,
  timerMode: z.enum(TIMER_MODES).openapi({
    example: "stop_previous",
    description: "Starting a timer while one runs: stop the running one, or refuse (409)",
  }),
  overlapPolicy: z.enum(OVERLAP_POLICIES).openapi({
    example: "allow",
    description: "Overlapping entries of one member: allowed, or refused (409 ENTRY_OVERLAP)",
  }),
  idleThresholdSeconds: seconds(30, 86_400, 300, "No input this long makes a member idle"),
  pulsetimeSeconds: seconds(1, 3_600, 60, "Equal heartbeats closer than this merge into one span"),
  staleTimerSeconds: seconds(300, 604_800, 3_600, "A timer whose agent is silent this long is stopped"),
  idleAlertSeconds: seconds(60, 86_400, 1_800, "Idle this long while a timer runs raises an alert"),
  idleAlertEmail: z.boolean().openapi({
    example: false,
    description:
      "Also email the member when an idle alert is raised (the alert event and GET /api/v1/idle-periods always happen)",
  }),
  privacyRules: z
    .array(PrivacyRuleSchema)
    .max(MAX_PRIVACY_RULES)
    .superRefine((rules, ctx) => {
      const total = rules.reduce((n, r) => n + (programSize(r.pattern) ?? 0), 0);
      if (total > MAX_RULES_PROGRAM)
        ctx.addIssue({
          code: "custom",
          message: `the patterns together are too complex (${total} RE2 instructions; at most ${MAX_RULES_PROGRAM})`,
        });
    }),
};

export const TrackingSettingsSchema = z
  .object({
    ...fields,
    updatedAt: z
      .string()
      .datetime()
      .nullable()
      .openapi({ description: "Null while the organization uses the defaults" }),
  })
  .openapi("TrackingSettings");

export const UpdateTrackingSettingsBody = z
  .strictObject({
    timezone: fields.timezone.optional(),
    weekStart: fields.weekStart.optional(),
    timerMode: fields.timerMode.optional(),
    overlapPolicy: fields.overlapPolicy.optional(),
    idleThresholdSeconds: fields.idleThresholdSeconds.optional(),
    pulsetimeSeconds: fields.pulsetimeSeconds.optional(),
    staleTimerSeconds: fields.staleTimerSeconds.optional(),
    idleAlertSeconds: fields.idleAlertSeconds.optional(),
    idleAlertEmail: fields.idleAlertEmail.optional(),
    privacyRules: fields.privacyRules.optional(),
  })
  .openapi("UpdateTrackingSettingsRequest");

const tags = ["Tracking settings"];

export const getSettingsRoute = createRoute({
  operationId: "getTrackingSettings",
  method: "get",
  path: "/api/v1/settings/tracking",
  tags,
  summary: "Get the organization's tracking settings",
  description:
    "Time zone, week start, timer mode, overlap policy, idle/pulsetime/stale-timer thresholds and privacy rules of the caller's organization. Defaults when never saved. Every member may read them.",
  security: bearerSecurity,
  middleware: [requirePermission("time:read")] as const,
  responses: {
    200: jsonContent(TrackingSettingsSchema, "The settings"),
    ...apiProblemResponses(401, 403),
  },
});

export const updateSettingsRoute = createRoute({
  operationId: "updateTrackingSettings",
  method: "patch",
  path: "/api/v1/settings/tracking",
  tags,
  summary: "Change the organization's tracking settings",
  description:
    "Admins only (`org:settings`). Partial update; absent fields keep their value. `privacyRules` replaces the whole list. Audited as `settings.tracking_updated` with the changes.",
  security: bearerSecurity,
  middleware: [requirePermission("org:settings")] as const,
  request: {
    body: jsonBody(UpdateTrackingSettingsBody, {
      timezone: "Europe/Berlin",
      overlapPolicy: "refuse",
      privacyRules: [{ field: "title", pattern: "(?:bank|payroll)", action: "redact" }],
    }),
  },
  responses: {
    200: jsonContent(TrackingSettingsSchema, "The settings after the change"),
    ...apiProblemResponses(401, 403, 415, 422),
  },
});
