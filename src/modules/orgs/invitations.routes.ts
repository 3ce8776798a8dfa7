import { createRoute, z } from "@hono/zod-openapi";
import { EmailField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requireMember } from "../auth/auth.middleware";
import { orgMember } from "./orgs.middleware";
import { MemberSchema, OrgParams, RoleSchema } from "./orgs.routes";

const OrganizationRef = z
  .object({
    id: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    name: z.string().openapi({ example: "Acme Studio" }),
  })
  .openapi("OrganizationRef");

export const InvitationSchema = z
  .object({
    id: z.string().openapi({ example: "inv_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    email: z.string().openapi({ example: "grace@example.com" }),
    role: RoleSchema,
    status: z.enum(["pending", "accepted", "revoked", "expired"]),
    invitedBy: z.string().nullable().openapi({ description: "User id of the inviter" }),
    createdAt: z.string().datetime(),
    expiresAt: z.string().datetime(),
    acceptedAt: z.string().datetime().nullable(),
    revokedAt: z.string().datetime().nullable(),
  })
  .openapi("Invitation", { description: "The invitation token is never returned: it is only emailed." });

const InvitationParams = OrgParams.extend({
  invitationId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "invitationId", in: "path" }, example: "inv_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
});

export const CreateInvitationBody = z
  .strictObject({
    email: EmailField.openapi({
      example: "grace@example.com",
      description: "Normalised: trimmed, lower case",
    }),
    role: RoleSchema,
  })
  .openapi("CreateInvitationRequest");

const tags = ["Invitations"];

export const createInvitationRoute = createRoute({
  operationId: "createInvitation",
  method: "post",
  path: "/api/v1/orgs/{orgId}/invitations",
  tags,
  summary: "Invite someone",
  description:
    "Admins and managers (`invitations:manage`); only admins invite admins. Emails a one-time link valid " +
    "7 days (only the token's SHA-256 is stored). A new invitation to the same address replaces an open " +
    "one. Inviting an existing member answers 409 `ALREADY_MEMBER`. Audited as `invitation.created`.",
  security: bearerSecurity,
  middleware: orgMember("invitations:manage"),
  request: {
    params: OrgParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: CreateInvitationBody,
          example: { email: "grace@example.com", role: "member" },
        },
      },
    },
  },
  responses: {
    201: jsonContent(InvitationSchema, "Created and emailed"),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422, 429),
  },
});

export const listInvitationsRoute = createRoute({
  operationId: "listInvitations",
  method: "get",
  path: "/api/v1/orgs/{orgId}/invitations",
  tags,
  summary: "List invitations",
  description: "Admins and managers; newest first, cursor-paginated.",
  security: bearerSecurity,
  middleware: orgMember("invitations:manage"),
  request: {
    params: OrgParams,
    query: PageQuery.extend({
      status: z.enum(["pending", "accepted", "revoked", "expired"]).optional(),
    }),
  },
  responses: {
    200: jsonContent(
      z
        .object({ data: z.array(InvitationSchema), nextCursor: z.string().nullable() })
        .openapi("InvitationPage"),
      "Invitations",
    ),
    ...apiProblemResponses(401, 403, 404, 422, 429),
  },
});

export const revokeInvitationRoute = createRoute({
  operationId: "revokeInvitation",
  method: "delete",
  path: "/api/v1/orgs/{orgId}/invitations/{invitationId}",
  tags,
  summary: "Revoke an invitation",
  description:
    "Admins and managers. The link stops working at once. Revoking an already revoked invitation is a " +
    "no-op; an accepted one answers 409. Audited as `invitation.revoked`.",
  security: bearerSecurity,
  middleware: orgMember("invitations:manage"),
  request: { params: InvitationParams },
  responses: {
    204: { description: "Revoked" },
    ...apiProblemResponses(401, 403, 404, 409, 422, 429),
  },
});

export const AcceptInvitationBody = z
  .strictObject({
    token: z
      .string()
      .trim()
      .min(16)
      .max(256)
      .regex(/^[A-Za-z0-9_-]+$/, "is not an invitation token")
      .openapi({ description: "The token from the invitation link", example: "Zm9vYmFyYmF6cXV4..." }),
  })
  .openapi("AcceptInvitationRequest");

export const acceptInvitationRoute = createRoute({
  operationId: "acceptInvitation",
  method: "post",
  path: "/api/v1/invitations/accept",
  tags,
  summary: "Accept an invitation",
  description:
    "For a signed-in user whose email is the invited address: adds the membership (the session keeps " +
    "acting in its current organization). Unknown, expired, revoked or used tokens answer 404; an " +
    "invitation for another address answers 403 `INVITATION_EMAIL_MISMATCH`; an existing member gets 409 " +
    "`ALREADY_MEMBER`. New users accept by registering with `invitationToken`. Audited as `invitation.accepted`.",
  security: bearerSecurity,
  middleware: requireMember(),
  request: {
    body: { required: true, content: { "application/json": { schema: AcceptInvitationBody } } },
  },
  responses: {
    201: jsonContent(
      z.object({ organization: OrganizationRef, member: MemberSchema }).openapi("AcceptedInvitation"),
      "Joined",
    ),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422, 429),
  },
});
