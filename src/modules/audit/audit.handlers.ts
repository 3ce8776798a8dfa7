import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { decodeCursor, nextLink, pageOf } from "../../lib/pagination";
import { currentMember } from "../auth/auth.middleware";
import { type AuditRow, listAuditRows } from "./audit.repo";
import { listAuditRoute, verifyAuditRoute } from "./audit.routes";

const AuditCursor = z.object({ s: z.number().int().min(1) });

/** Hashes are shown: they are integrity values over the row, not secrets. */
export function serializeAuditRow(r: AuditRow) {
  return {
    id: r.id,
    seq: r.seq,
    orgId: r.orgId,
    actorType: r.actorType,
    actorId: r.actorId,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    ip: r.ip,
    userAgent: r.userAgent,
    requestId: r.requestId,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: r.createdAt.toISOString(),
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

/** The caller's organization; `requirePermission` has already refused callers without one. */
function orgOf(c: Context<AppEnv>): string {
  const orgId = currentMember(c).orgId;
  if (!orgId) throw new AppError(403, "FORBIDDEN", "You are not a member of an organization");
  return orgId;
}

/** `GET /api/v1/audit` and `GET /api/v1/audit/verify`, both for admins of the caller's organization. */
export function registerAudit(app: Router): void {
  app.openapi(listAuditRoute, async (c) => {
    const orgId = orgOf(c);
    const q = c.req.valid("query");
    const from = q.from ? new Date(q.from) : undefined;
    const to = q.to ? new Date(q.to) : undefined;
    if (from && to && from.getTime() > to.getTime())
      throw new AppError(422, "VALIDATION_FAILED", "Invalid query", {
        errors: [{ path: "from", message: "must not be after `to`", code: "invalid_range" }],
      });
    const beforeSeq = q.cursor ? decodeCursor(q.cursor, AuditCursor).s : undefined;
    const rows = await listAuditRows(
      c.get("platform").db,
      orgId,
      { action: q.action, actorId: q.actorId, targetId: q.targetId, from, to, beforeSeq },
      q.limit,
    );
    const page = pageOf(rows, q.limit, (r) => ({ s: r.seq }));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json({ data: page.data.map(serializeAuditRow), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(verifyAuditRoute, async (c) => {
    const result = await c.get("services").audit.verify(orgOf(c));
    return c.json(result, 200);
  });
}
