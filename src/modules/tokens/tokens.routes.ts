import { createRoute, z } from "@hono/zod-openapi";
import { cleanText } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requireAgent, requireOwnScope, requireSession } from "./tokens.guards";
import { PAT_SCOPES } from "./tokens.service";

const Label = (example: string) => cleanText(100).openapi({ example });

const Scope = z.enum(PAT_SCOPES).openapi("TokenScope", {
  description: "`<area>:read` allows GET routes of the area, `<area>:write` the others",
});

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "tok_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
});

const tokenFields = {
  id: z.string().openapi({ example: "tok_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
  name: z.string().openapi({ example: "Payroll export" }),
  scopes: z.array(z.string()).openapi({ example: ["reports:read", "members:read"] }),
  prefix: z.string().openapi({ example: "ttp_Xq3v9LmA", description: "First characters, to recognise it" }),
  createdAt: z.string().datetime(),
  lastUsedAt: z.string().datetime().nullable(),
  expiresAt: z.string().datetime().nullable(),
};

export const TokenSchema = z.object(tokenFields).openapi("PersonalAccessToken");

export const CreatedTokenSchema = z
  .object({
    ...tokenFields,
    token: z.string().openapi({
      example: "ttp_Xq3v9LmA0b1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r7",
      description: "The secret. Shown only in this response; store it now.",
    }),
  })
  .openapi("CreatedPersonalAccessToken");

export const CreateTokenBody = z
  .strictObject({
    name: Label("Payroll export"),
    scopes: z.array(Scope).min(1).max(PAT_SCOPES.length),
    expiresAt: z
      .string()
      .datetime({ offset: true })
      .nullable()
      .optional()
      .openapi({ description: "In the future and at most one year ahead; omit for no expiry" }),
  })
  .openapi("CreatePersonalAccessTokenRequest");

const agentFields = {
  id: z.string().openapi({ example: "tok_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
  name: z.string().openapi({ example: "Ana's MacBook" }),
  prefix: z.string().openapi({ example: "tta_Pq8w2ZbC" }),
  userId: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
  memberId: z.string().nullable().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
  createdAt: z.string().datetime(),
  lastUsedAt: z.string().datetime().nullable(),
};

export const AgentSchema = z.object(agentFields).openapi("Agent");

export const CreatedAgentSchema = z
  .object({
    ...agentFields,
    scopes: z.array(z.string()).openapi({ example: ["ingest"] }),
    token: z.string().openapi({
      example: "tta_Pq8w2ZbC0b1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r7",
      description: "The agent's secret. Shown only in this response.",
    }),
  })
  .openapi("CreatedAgent");

export const CreateAgentBody = z.strictObject({ name: Label("Ana's MacBook") }).openapi("CreateAgentRequest");

const tokenTags = ["Tokens"];
const agentTags = ["Agents"];

export const createTokenRoute = createRoute({
  operationId: "createPersonalAccessToken",
  method: "post",
  path: "/api/v1/tokens",
  tags: tokenTags,
  summary: "Create a personal access token",
  description:
    "A scoped API key for the caller in their current organization. Signed-in sessions only (a token cannot mint tokens). Scopes narrow the owner's role; they never widen it.",
  security: bearerSecurity,
  middleware: [requireSession()] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: CreateTokenBody,
          example: { name: "Payroll export", scopes: ["reports:read"], expiresAt: "2026-12-31T00:00:00Z" },
        },
      },
    },
  },
  responses: {
    201: jsonContent(CreatedTokenSchema, "Created; `token` is shown only now"),
    ...apiProblemResponses(401, 403, 415, 422),
  },
});

export const listTokensRoute = createRoute({
  operationId: "listPersonalAccessTokens",
  method: "get",
  path: "/api/v1/tokens",
  tags: tokenTags,
  summary: "List your personal access tokens",
  description:
    "Your tokens in your current organization, newest first, with their last use (recorded at most once a minute). Expired tokens stay listed until revoked. Never the secret.",
  security: bearerSecurity,
  middleware: [requireSession()] as const,
  request: { query: PageQuery },
  responses: {
    200: jsonContent(
      z
        .object({ data: z.array(TokenSchema), nextCursor: z.string().nullable() })
        .openapi("PersonalAccessTokenPage"),
      "Tokens",
    ),
    ...apiProblemResponses(401, 403, 422),
  },
});

export const revokeTokenRoute = createRoute({
  operationId: "revokePersonalAccessToken",
  method: "delete",
  path: "/api/v1/tokens/{id}",
  tags: tokenTags,
  summary: "Revoke a personal access token",
  description:
    "Revokes one of your tokens; it is refused from the next request. Another user's token is 404.",
  security: bearerSecurity,
  middleware: [requireSession()] as const,
  request: { params: IdParam },
  responses: { 204: { description: "Revoked" }, ...apiProblemResponses(401, 403, 404) },
});

export const createAgentRoute = createRoute({
  operationId: "createAgent",
  method: "post",
  path: "/api/v1/agents",
  tags: agentTags,
  summary: "Enroll a desktop agent",
  description:
    "Creates the agent token of one device for your own membership, scoped to `ingest` only. Signed-in sessions only; a device name is unique among your live agents.",
  security: bearerSecurity,
  middleware: [requireSession("own:write")] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: CreateAgentBody, example: { name: "Ana's MacBook" } } },
    },
  },
  responses: {
    201: jsonContent(CreatedAgentSchema, "Enrolled; `token` is shown only now"),
    ...apiProblemResponses(401, 403, 409, 415, 422),
  },
});

export const ListAgentsQuery = PageQuery.extend({
  memberId: z.string().max(64).optional().openapi({
    description: "Another member's agents (managers and admins)",
    example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e",
  }),
  all: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "`true`: every agent in the organization (managers and admins)" }),
});

export const listAgentsRoute = createRoute({
  operationId: "listAgents",
  method: "get",
  path: "/api/v1/agents",
  tags: agentTags,
  summary: "List agents",
  description:
    "Your own agents by default. Managers and admins may pass `memberId` for one member's or `all=true` for the organization's.",
  security: bearerSecurity,
  middleware: [requireOwnScope()] as const,
  request: { query: ListAgentsQuery },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(AgentSchema), nextCursor: z.string().nullable() }).openapi("AgentPage"),
      "Agents",
    ),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const getCurrentAgentRoute = createRoute({
  operationId: "getCurrentAgent",
  method: "get",
  path: "/api/v1/agents/me",
  tags: agentTags,
  summary: "The calling agent",
  description: "Which agent, member and organization an agent token is bound to. Agent tokens only.",
  security: bearerSecurity,
  middleware: [requireAgent()] as const,
  responses: {
    200: jsonContent(
      z
        .object({
          agentId: z.string().openapi({ example: "tok_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
          userId: z.string().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
          orgId: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7f" }),
        })
        .openapi("AgentIdentity"),
      "The agent's binding",
    ),
    ...apiProblemResponses(401, 403),
  },
});

export const revokeAgentRoute = createRoute({
  operationId: "revokeAgent",
  method: "delete",
  path: "/api/v1/agents/{id}",
  tags: agentTags,
  summary: "Revoke an agent",
  description:
    "Your own agent, or any agent of your organization if you are a manager or admin. Anything else is 404.",
  security: bearerSecurity,
  middleware: [requireOwnScope()] as const,
  request: { params: IdParam },
  responses: { 204: { description: "Revoked" }, ...apiProblemResponses(401, 403, 404) },
});
