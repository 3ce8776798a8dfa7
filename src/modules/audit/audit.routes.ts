import { createRoute, z } from "@hono/zod-openapi";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requirePermission } from "../auth/auth.middleware";

const Hash = z
  .string()
  .openapi({ example: "9f2c4c1e0d6a5b4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918076e5d" });

export const AuditEntrySchema = z
  .object({
    id: z.string().openapi({ example: "aud_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    seq: z.number().int().openapi({ example: 42, description: "Position in the organization's chain" }),
    orgId: z.string().openapi({ example: "org_01jd0s4r9q8m6w2v3x4y5z6a7f" }),
    actorType: z.enum(["user", "token", "agent", "operator", "system", "anonymous"]),
    actorId: z.string().nullable().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
    action: z.string().openapi({ example: "member.role_changed" }),
    targetType: z.string().nullable().openapi({ example: "membership" }),
    targetId: z.string().nullable().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
    ip: z.string().nullable().openapi({ example: "203.0.113.7" }),
    userAgent: z.string().nullable().openapi({ example: "Mozilla/5.0" }),
    requestId: z.string().nullable().openapi({ example: "0b6f7c1e-6c4e-4a55-9a53-2f1d0d8f9b7a" }),
    metadata: z.record(z.string(), z.unknown()).openapi({ example: { from: "member", to: "manager" } }),
    createdAt: z.string().datetime(),
    prevHash: Hash,
    hash: Hash,
  })
  .openapi("AuditEntry");

const Iso = (description: string) =>
  z.string().datetime({ offset: true }).optional().openapi({ description, example: "2026-01-01T00:00:00Z" });

export const AuditQuery = PageQuery.extend({
  action: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "Exact action, or a prefix ending in `.*` (e.g. `auth.*`)", example: "auth.*" }),
  actorId: z.string().max(64).optional().openapi({ example: "usr_01jd0s4r9q8m6w2v3x4y5z6a7d" }),
  targetId: z.string().max(64).optional().openapi({ example: "mem_01jd0s4r9q8m6w2v3x4y5z6a7e" }),
  from: Iso("Rows at or after this time"),
  to: Iso("Rows before this time"),
});

const tags = ["Audit"];

export const listAuditRoute = createRoute({
  operationId: "listAuditLog",
  method: "get",
  path: "/api/v1/audit",
  tags,
  summary: "Query the audit log",
  description: "Your organization's audit rows, newest first, cursor-paginated. Admins only.",
  security: bearerSecurity,
  middleware: [requirePermission("audit:read")] as const,
  request: { query: AuditQuery },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(AuditEntrySchema), nextCursor: z.string().nullable() }).openapi("AuditPage"),
      "Audit rows",
    ),
    ...apiProblemResponses(401, 403, 422),
  },
});

export const AuditVerificationSchema = z
  .object({
    ok: z.boolean(),
    checked: z.number().int().openapi({ description: "Rows verified before the first break (all when ok)" }),
    brokenAt: z
      .object({
        id: z.string(),
        seq: z.number().int(),
        reason: z.string().openapi({ example: "hash mismatch" }),
      })
      .optional(),
  })
  .openapi("AuditVerification", { example: { ok: true, checked: 128 } });

export const verifyAuditRoute = createRoute({
  operationId: "verifyAuditLog",
  method: "get",
  path: "/api/v1/audit/verify",
  tags,
  summary: "Verify the audit hash chain",
  description:
    "Walks your organization's chain and reports the first row whose hash, link or sequence does not match (an edited, inserted or deleted row). Admins only.",
  security: bearerSecurity,
  middleware: [requirePermission("audit:read")] as const,
  responses: {
    200: jsonContent(AuditVerificationSchema, "Result of the walk"),
    ...apiProblemResponses(401, 403),
  },
});
