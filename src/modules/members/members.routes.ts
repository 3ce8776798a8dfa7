import { createRoute, z } from "@hono/zod-openapi";
import { cleanText, jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { isTimeZone } from "../../lib/time";
import { requireMember, requirePermission } from "../auth/auth.middleware";

/** `{id}` of the member routes: a membership id, or `me`. */
export const MemberIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({
      param: { name: "id", in: "path" },
      example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e",
      description: "A membership id of your organization, or `me`",
    }),
});

export const TimeZoneField = z
  .string()
  .max(64)
  .refine(isTimeZone, "is not an IANA time zone")
  .openapi({ example: "Europe/Berlin", description: "IANA time zone" });

const Iso = z.string().datetime();

const RunningTimerSchema = z
  .object({
    entryId: z.string().openapi({ example: "te_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    projectId: z.string().nullable().openapi({ example: "prj_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    projectName: z.string().nullable().openapi({ example: "Website relaunch" }),
    description: z.string().nullable().openapi({ example: "Sprint planning" }),
    startAt: Iso,
    seconds: z.number().int().openapi({ example: 1800, description: "Running for this long" }),
  })
  .openapi("RunningTimer");

const seconds = (description: string, example: number) =>
  z.number().int().nullable().openapi({ description, example });

export const MemberStatsSchema = z
  .object({
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    userId: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    name: z.string().openapi({ example: "Ana Lima", description: "Display name, else the user's name" }),
    role: z.string().openapi({ example: "member" }),
    timezone: z.string().openapi({ example: "Europe/Berlin" }),
    status: z.enum(["active", "idle", "offline"]).openapi({ example: "active" }),
    statusChangedAt: Iso.nullable(),
    lastSeenAt: Iso.nullable().openapi({ description: "When the member's agent last sent heartbeats" }),
    trackedTodaySeconds: seconds(
      "Time entries (running timer included) within the member's local today",
      12600,
    ),
    trackedWeekSeconds: seconds(
      "Time entries within the member's local week (organization's week start)",
      72000,
    ),
    activeSecondsToday: seconds("Non-idle activity observed by the agent today", 10800),
    idleSecondsToday: seconds("Idle activity observed by the agent today", 1200),
    activePercent: z.number().nullable().openapi({
      example: 90,
      description: "active ÷ (active + idle) activity today, in percent (one decimal); null without activity",
    }),
    runningTimer: RunningTimerSchema.nullable(),
  })
  .openapi("MemberStats");

export const MemberStatsPage = z
  .object({
    data: z.array(MemberStatsSchema),
    nextCursor: z.string().nullable(),
    generatedAt: Iso.openapi({ description: "When the numbers were computed (cached up to 60 s)" }),
  })
  .openapi("MemberStatsPage");

export const ProfileSchema = z
  .object({
    memberId: z.string().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    userId: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    name: z.string().openapi({ example: "Ana Lima" }),
    displayName: z.string().nullable().openapi({ example: "Ana Lima" }),
    timezone: z.string().openapi({ example: "Europe/Berlin" }),
    role: z.string().openapi({ example: "member" }),
    status: z.enum(["active", "idle", "offline"]).openapi({ example: "idle" }),
    lastSeenAt: Iso.nullable(),
    updatedAt: Iso,
  })
  .openapi("MemberProfile");

export const UpdateProfileBody = z
  .strictObject({
    displayName: cleanText(100).nullable().optional().openapi({
      example: "Ana Lima",
      description: "Shown instead of the user's name; null to clear",
    }),
    timezone: TimeZoneField.optional(),
  })
  .openapi("UpdateMemberProfileRequest");

const tags = ["Members"];

export const memberStatsRoute = createRoute({
  operationId: "getMemberStats",
  method: "get",
  path: "/api/v1/members/stats",
  tags,
  summary: "Live stats of every member",
  description: [
    "For each member of your organization, by name: presence (status, last seen), tracked time today and this week (closed time entries plus the running timer up to now, clipped to the member's own local day and week), activity observed by the agent today (active and idle seconds, active percentage) and the running timer.",
    "",
    "Admins and managers (`data:read_all`) see every member's numbers. Members and viewers see everyone's presence, but tracked time, activity and the running timer only of themselves (null for others).",
    "",
    "Computed for the whole organization in one query and cached for 60 s; heartbeats, time-entry and timer changes, member and profile changes, and project changes invalidate it. Activity today covers exactly the member's local day, also in zones with a 30- or 45-minute offset (Asia/Kolkata, Asia/Kathmandu).",
  ].join("\n"),
  security: bearerSecurity,
  middleware: [requirePermission("members:read")] as const,
  request: { query: PageQuery },
  responses: {
    200: jsonContent(MemberStatsPage, "Members' stats"),
    ...apiProblemResponses(401, 403, 422),
  },
});

export const getProfileRoute = createRoute({
  operationId: "getMemberProfile",
  method: "get",
  path: "/api/v1/members/{id}/profile",
  tags,
  summary: "A member's tracking profile",
  description:
    "Display name, time zone and presence of a member of your organization (`me` for yourself). Every member may read them; another organization's id is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("members:read")] as const,
  request: { params: MemberIdParam },
  responses: {
    200: jsonContent(ProfileSchema, "The profile"),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const updateProfileRoute = createRoute({
  operationId: "updateMemberProfile",
  method: "patch",
  path: "/api/v1/members/{id}/profile",
  tags,
  summary: "Change a member's tracking profile",
  description:
    "Your own profile (`own:write`: admins, managers, members), or any member's as an admin or manager (`members:write`). The time zone (IANA) is where the member's days, timelines and stats are computed. Audited as `member.profile_updated`; emits `member.profile_updated`.",
  security: bearerSecurity,
  middleware: [requireMember()] as const,
  request: {
    params: MemberIdParam,
    body: jsonBody(UpdateProfileBody, { displayName: "Ana Lima", timezone: "Europe/Berlin" }),
  },
  responses: {
    200: jsonContent(ProfileSchema, "The updated profile"),
    ...apiProblemResponses(401, 403, 404, 415, 422),
  },
});
