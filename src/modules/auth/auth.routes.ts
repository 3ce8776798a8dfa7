import { createRoute, z } from "@hono/zod-openapi";
import { ROLES } from "../../db/schema";
import { cleanText, EmailField, jsonBody, OpaqueTokenField, PasswordField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent, publicSecurity } from "../../http/openapi";

const tags = ["Auth"];

const DateTime = z.string().datetime();

export const UserSchema = z
  .object({
    id: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    email: z.string().openapi({ format: "email", example: "ada@example.com" }),
    name: z.string().openapi({ example: "Ada Lovelace" }),
    emailVerified: z.boolean(),
    createdAt: DateTime,
  })
  .openapi("User");

const TokenFields = {
  accessToken: z
    .string()
    .openapi({ description: "JWT, 15 minutes", example: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…" }),
  refreshToken: z.string().openapi({
    description: "Opaque, single use: each refresh returns a new one. Also set as the `tt_refresh` cookie.",
    example: "ttr_Jx8v1cQm0yH6nq3t2a9LwzP4kR7sVbN5eF0gU1iO2dE",
  }),
  expiresIn: z.number().int().openapi({ description: "Access token lifetime in seconds", example: 900 }),
  tokenType: z.literal("Bearer"),
};

export const TokenPairSchema = z.object(TokenFields).openapi("TokenPair");
export const LoginResponseSchema = z.object({ ...TokenFields, user: UserSchema }).openapi("LoginResponse");

export const MfaChallengeSchema = z
  .object({
    mfaRequired: z.literal(true),
    challengeToken: z.string().openapi({
      description:
        "Single use, 5 minutes, at most 5 wrong codes; good for `POST /auth/2fa/verify` and nothing else.",
      example: "ttc_q3Xv9LmP0aZ8yR2nB7cK4tW1sD6fG5hJ0kE9uI3oA8s",
    }),
    expiresIn: z.number().int().openapi({ example: 300 }),
  })
  .openapi("MfaChallenge");

export const RegisterBody = z
  .strictObject({
    email: EmailField,
    password: PasswordField,
    name: cleanText(100).openapi({ example: "Ada Lovelace" }),
    organizationName: cleanText(100).optional().openapi({
      description:
        'Name of the new organization (default: "<name>\'s organization"). Ignored with an invitation.',
      example: "Analytical Engines Ltd",
    }),
    invitationToken: OpaqueTokenField.optional().openapi({
      description:
        "Join the inviting organization instead of creating one. The email must be the invited one.",
    }),
  })
  .openapi("RegisterRequest");

export const registerRoute = createRoute({
  operationId: "register",
  method: "post",
  path: "/api/v1/auth/register",
  tags,
  summary: "Create an account",
  description:
    "Creates a user and either a new organization (the user is its admin) or, with `invitationToken`, a membership in the inviting organization, then emails a verification link. An email that already has an account gets the same 201 response (nothing is created; its owner is emailed instead), so the endpoint does not reveal which addresses are registered. Passwords: 8–256 characters, no composition rules; common or guessable passwords and passwords containing the email's local part are refused with 422 naming `password`.",
  security: publicSecurity,
  request: {
    body: jsonBody(RegisterBody, {
      email: "ada@example.com",
      password: "correct horse battery staple",
      name: "Ada Lovelace",
      organizationName: "Analytical Engines Ltd",
    }),
  },
  responses: {
    201: jsonContent(
      z
        .object({
          user: UserSchema,
          organization: z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) }),
        })
        .openapi("RegisterResponse"),
      "Registered (or, indistinguishably, the address already had an account)",
    ),
    ...apiProblemResponses(415, 422, 429),
  },
});

export const loginRoute = createRoute({
  operationId: "login",
  method: "post",
  path: "/api/v1/auth/login",
  tags,
  summary: "Sign in",
  description:
    "Returns an access token (JWT, 15 min) and a refresh token (opaque, rotating; 7-day idle and 30-day absolute session lifetime), the latter also as an `HttpOnly; SameSite=Strict` cookie `tt_refresh` scoped to `/api/v1/auth`. When the user has two-factor authentication on, the answer is instead `{ mfaRequired: true, challengeToken }`: complete the login with `POST /auth/2fa/verify`. An unknown email, a wrong password and a locked account (10 wrong passwords in 15 minutes from any address lock it for 15 minutes, doubling on repeat; the owner is emailed) all give the same 401 `INVALID_CREDENTIALS`. At most 10 live sessions per user: the oldest is revoked.",
  security: publicSecurity,
  request: {
    body: jsonBody(z.strictObject({ email: EmailField, password: PasswordField }).openapi("LoginRequest"), {
      email: "ada@example.com",
      password: "correct horse battery staple",
    }),
  },
  responses: {
    200: jsonContent(
      z.union([LoginResponseSchema, MfaChallengeSchema]),
      "Signed in, or (2FA on) a challenge to answer with a code",
    ),
    ...apiProblemResponses(401, 415, 422, 429),
  },
});

export const refreshRoute = createRoute({
  operationId: "refreshToken",
  method: "post",
  path: "/api/v1/auth/refresh",
  tags,
  summary: "Rotate the refresh token",
  description:
    "Exchanges a refresh token (body, or the `tt_refresh` cookie when the body has none: send `{}` or no body at all) for a new pair; the old token dies. Presenting an already-rotated token revokes the whole session (401 `REFRESH_TOKEN_REUSED`), except within a 10-second grace window where concurrent refreshes of one token all receive the same successor.",
  security: publicSecurity,
  request: {
    body: jsonBody(
      z.strictObject({ refreshToken: OpaqueTokenField.optional() }).openapi("RefreshRequest"),
      { refreshToken: "ttr_Jx8v1cQm0yH6nq3t2a9LwzP4kR7sVbN5eF0gU1iO2dE" },
      false,
    ),
  },
  responses: {
    200: jsonContent(TokenPairSchema, "A new token pair"),
    ...apiProblemResponses(401, 415, 422, 429),
  },
});

export const logoutRoute = createRoute({
  operationId: "logout",
  method: "post",
  path: "/api/v1/auth/logout",
  tags,
  summary: "Sign out",
  description:
    "Revokes the current session server-side (its access and refresh tokens stop working at once) and clears the refresh cookie.",
  security: bearerSecurity,
  responses: {
    204: { description: "Signed out" },
    ...apiProblemResponses(401, 403, 429),
  },
});

const SessionSchema = z
  .object({
    id: z.string().openapi({ example: "ses_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    userAgent: z.string().nullable().openapi({ example: "Mozilla/5.0 (X11; Linux x86_64)" }),
    ip: z.string().nullable().openapi({ example: "203.0.113.7" }),
    createdAt: DateTime,
    lastUsedAt: DateTime,
    expiresAt: DateTime.openapi({ description: "Absolute end of the session" }),
    current: z.boolean().openapi({ description: "The session making this request" }),
  })
  .openapi("Session");

export const listSessionsRoute = createRoute({
  operationId: "listSessions",
  method: "get",
  path: "/api/v1/auth/sessions",
  tags,
  summary: "List your sessions",
  description:
    "Your live sessions, newest first (at most 10, so always one page), with device, IP, creation and last use; `current` marks this one.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z.object({ data: z.array(SessionSchema), nextCursor: z.null() }).openapi("SessionList"),
      "Sessions",
    ),
    ...apiProblemResponses(401, 403, 429),
  },
});

export const revokeSessionRoute = createRoute({
  operationId: "revokeSession",
  method: "delete",
  path: "/api/v1/auth/sessions/{id}",
  tags,
  summary: "Revoke one of your sessions",
  description: "Only your own live sessions; any other id answers 404.",
  security: bearerSecurity,
  request: {
    params: z.object({
      id: z
        .string()
        .max(64)
        .openapi({ param: { name: "id", in: "path" }, example: "ses_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    }),
  },
  responses: {
    204: { description: "Revoked" },
    ...apiProblemResponses(401, 403, 404, 429),
  },
});

export const revokeOtherSessionsRoute = createRoute({
  operationId: "revokeOtherSessions",
  method: "post",
  path: "/api/v1/auth/sessions/revoke-others",
  tags,
  summary: "Sign out everywhere else",
  description: "Revokes every session of yours except the current one.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z.object({ revoked: z.number().int().openapi({ example: 3 }) }).openapi("SessionsRevoked"),
      "How many sessions were revoked",
    ),
    ...apiProblemResponses(401, 403, 429),
  },
});

export const meRoute = createRoute({
  operationId: "getMe",
  method: "get",
  path: "/api/v1/me",
  tags,
  summary: "Who am I",
  description:
    "The caller's profile, the organization they act in and their current role there (read on every request), and what kind of credentials they used.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z
        .object({
          user: UserSchema.pick({ id: true, email: true, name: true, emailVerified: true }),
          organization: z
            .object({
              id: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
              name: z.string(),
            })
            .nullable(),
          role: z.enum(ROLES).nullable(),
          principal: z.object({
            kind: z.enum(["user", "pat", "agent"]).openapi({
              description:
                "`user`: access token of a session; `pat`: personal access token; `agent`: agent token",
            }),
          }),
        })
        .openapi("Me"),
      "The caller",
    ),
    ...apiProblemResponses(401, 403, 429),
  },
});

const OrgWithRole = z
  .object({
    id: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    name: z.string(),
    role: z.enum(ROLES),
  })
  .openapi("OrganizationWithRole");

export const myOrganizationsRoute = createRoute({
  operationId: "listMyOrganizations",
  method: "get",
  path: "/api/v1/me/organizations",
  tags,
  summary: "Organizations I belong to",
  description: "Every organization the signed-in user is a member of, with their role there.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(z.object({ data: z.array(OrgWithRole) }).openapi("MyOrganizations"), "Memberships"),
    ...apiProblemResponses(401, 403, 429),
  },
});

export const switchOrganizationRoute = createRoute({
  operationId: "switchOrganization",
  method: "post",
  path: "/api/v1/auth/sessions/current/organization",
  tags,
  summary: "Act in another organization",
  description:
    "Points the current session at another organization the user belongs to and returns a new access token for it. The refresh token stays valid. Not a member: 404.",
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({ organizationId: z.string().trim().min(1).max(64) })
            .openapi("SwitchOrganizationRequest"),
        },
      },
    },
  },
  responses: {
    200: jsonContent(
      z
        .object({
          accessToken: z.string(),
          expiresIn: z.number().int(),
          tokenType: z.literal("Bearer"),
          organization: OrgWithRole,
        })
        .openapi("OrganizationSwitched"),
      "The session now acts in that organization",
    ),
    ...apiProblemResponses(401, 403, 404, 415, 422, 429),
  },
});
