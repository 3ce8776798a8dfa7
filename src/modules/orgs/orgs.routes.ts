import { createRoute, z } from "@hono/zod-openapi";
import { ROLES } from "../../db/schema";
import { cleanText } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { orgMember } from "./orgs.middleware";

export const RoleSchema = z.enum(ROLES).openapi("Role", {
  description:
    "admin: everything; manager: members, invitations, all data; member: own data; viewer: read-only",
});

const id = (name: string, example: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name, in: "path" }, example });

export const OrgParams = z.object({ orgId: id("orgId", "org_01jd0s4r9q8m6w2v3x4y5z6a7b") });
export const MemberParams = OrgParams.extend({ memberId: id("memberId", "mem_01jd0s4r9q8m6w2v3x4y5z6a7c") });

export const OrganizationSchema = z
  .object({
    id: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    name: z.string().openapi({ example: "Acme Studio" }),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("Organization");

export const MemberSchema = z
  .object({
    id: z.string().openapi({ description: "Membership id", example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
    userId: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    name: z.string().openapi({ example: "Ada Lovelace" }),
    email: z.string().optional().openapi({
      description: "Shown to admins and managers, and to the member themselves",
      example: "ada@example.com",
    }),
    role: RoleSchema,
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("Member");

const tags = ["Organizations"];

export const getOrgRoute = createRoute({
  operationId: "getOrganization",
  method: "get",
  path: "/api/v1/orgs/{orgId}",
  tags,
  summary: "Get an organization",
  description: "Any member. Another organization's id answers 404.",
  security: bearerSecurity,
  middleware: orgMember("members:read"),
  request: { params: OrgParams },
  responses: {
    200: jsonContent(OrganizationSchema, "The organization"),
    ...apiProblemResponses(401, 403, 404, 422, 429),
  },
});

export const UpdateOrgBody = z
  .strictObject({ name: cleanText(100).openapi({ example: "Acme Studio" }) })
  .openapi("UpdateOrganizationRequest");

export const updateOrgRoute = createRoute({
  operationId: "updateOrganization",
  method: "patch",
  path: "/api/v1/orgs/{orgId}",
  tags,
  summary: "Rename an organization",
  description: "Admins only (`org:settings`). Audited as `org.updated`.",
  security: bearerSecurity,
  middleware: orgMember("org:settings"),
  request: {
    params: OrgParams,
    body: { required: true, content: { "application/json": { schema: UpdateOrgBody } } },
  },
  responses: {
    200: jsonContent(OrganizationSchema, "The updated organization"),
    ...apiProblemResponses(401, 403, 404, 415, 422, 429),
  },
});

export const listMembersRoute = createRoute({
  operationId: "listMembers",
  method: "get",
  path: "/api/v1/orgs/{orgId}/members",
  tags,
  summary: "List members",
  description:
    "Any member; oldest first, cursor-paginated. Emails are shown to admins and managers (and each member sees their own).",
  security: bearerSecurity,
  middleware: orgMember("members:read"),
  request: {
    params: OrgParams,
    query: PageQuery.extend({
      role: RoleSchema.optional().openapi({ description: "Only members with this role" }),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(MemberSchema), nextCursor: z.string().nullable() }).openapi("MemberPage"),
      "Members",
    ),
    ...apiProblemResponses(401, 403, 404, 422, 429),
  },
});

export const getMemberRoute = createRoute({
  operationId: "getMember",
  method: "get",
  path: "/api/v1/orgs/{orgId}/members/{memberId}",
  tags,
  summary: "Get a member",
  description: "Any member. A membership id from another organization answers 404.",
  security: bearerSecurity,
  middleware: orgMember("members:read"),
  request: { params: MemberParams },
  responses: {
    200: jsonContent(MemberSchema, "The member"),
    ...apiProblemResponses(401, 403, 404, 422, 429),
  },
});

export const UpdateMemberBody = z
  .strictObject({ role: RoleSchema.openapi({ example: "manager" }) })
  .openapi("UpdateMemberRequest");

export const updateMemberRoute = createRoute({
  operationId: "updateMember",
  method: "patch",
  path: "/api/v1/orgs/{orgId}/members/{memberId}",
  tags,
  summary: "Change a member's role",
  description:
    "Admins and managers (`members:write`). Only an admin grants `admin` or changes an admin's role; " +
    "demoting the last admin answers 409 `LAST_ADMIN`. Takes effect on the member's next request. " +
    "Audited as `member.role_changed`; emits `member.updated`.",
  security: bearerSecurity,
  middleware: orgMember("members:write"),
  request: {
    params: MemberParams,
    body: {
      required: true,
      content: { "application/json": { schema: UpdateMemberBody, example: { role: "manager" } } },
    },
  },
  responses: {
    200: jsonContent(MemberSchema, "The member with the new role"),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422, 429),
  },
});

export const deleteMemberRoute = createRoute({
  operationId: "removeMember",
  method: "delete",
  path: "/api/v1/orgs/{orgId}/members/{memberId}",
  tags,
  summary: "Remove a member",
  description:
    "Admins only (`members:delete`). Revokes the member's sessions, personal access tokens and agent " +
    "tokens for this organization. The last admin cannot be removed (409 `LAST_ADMIN`). " +
    "Audited as `member.removed`; emits `member.removed`.",
  security: bearerSecurity,
  middleware: orgMember("members:delete"),
  request: { params: MemberParams },
  responses: {
    204: { description: "Removed" },
    ...apiProblemResponses(401, 403, 404, 409, 422, 429),
  },
});
