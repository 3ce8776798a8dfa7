import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { CursorInstant, decodeCursor, nextLink, pageOf } from "../../lib/pagination";
import { auditContext } from "../audit/audit.service";
import { allows, orgMember } from "./tokens.guards";
import type { TokenListRow } from "./tokens.repo";
import {
  createAgentRoute,
  createTokenRoute,
  getCurrentAgentRoute,
  listAgentsRoute,
  listTokensRoute,
  revokeAgentRoute,
  revokeTokenRoute,
} from "./tokens.routes";
import {
  createAgent,
  createPat,
  listAgents,
  listPats,
  memberUser,
  revokeAgent,
  revokePat,
  toAgentView,
  toTokenView,
} from "./tokens.service";

const TokenCursor = z.object({ c: CursorInstant, i: z.string().max(64) });

function cursorOf(cursor: string | undefined) {
  if (!cursor) return undefined;
  const k = decodeCursor(cursor, TokenCursor);
  return { createdAt: k.c, id: k.i };
}

function page<T>(c: Context<AppEnv>, rows: TokenListRow[], limit: number, view: (r: TokenListRow) => T) {
  const p = pageOf(rows, limit, (r) => ({ c: r.createdAt.getTime(), i: r.id }));
  const link = nextLink(c.req.url, p.nextCursor);
  if (link) c.header("Link", link);
  return { data: p.data.map(view), nextCursor: p.nextCursor };
}

function deps(c: Context<AppEnv>) {
  const { db, clock } = c.get("platform");
  return { db, clock, principals: c.get("services").principals };
}

/** Audit a token event in the caller's organization. Metadata never holds the secret or its hash. */
function audit(
  c: Context<AppEnv>,
  action: string,
  row: { id: string; orgId: string; userId: string; name: string },
  metadata: Record<string, unknown> = {},
) {
  return c.get("services").audit.record({
    ...auditContext(c),
    orgId: row.orgId,
    action,
    targetType: action.startsWith("agent.") ? "agent" : "api_token",
    targetId: row.id,
    metadata: { name: row.name, ownerId: row.userId, ...metadata },
  });
}

/** Personal access tokens (`/api/v1/tokens`) and agent tokens (`/api/v1/agents`). */
export function registerTokens(app: Router): void {
  app.openapi(createTokenRoute, async (c) => {
    const p = orgMember(c);
    const body = c.req.valid("json");
    const created = await createPat(deps(c), { userId: p.userId, orgId: p.orgId }, body);
    await audit(
      c,
      "token.created",
      { id: created.id, orgId: p.orgId, userId: p.userId, name: created.name },
      { scopes: created.scopes, expiresAt: created.expiresAt },
    );
    return c.json(created, 201);
  });

  app.openapi(listTokensRoute, async (c) => {
    const p = orgMember(c);
    const { limit, cursor } = c.req.valid("query");
    const rows = await listPats(deps(c), p, { limit, cursor: cursorOf(cursor) });
    return c.json(page(c, rows, limit, toTokenView), 200);
  });

  app.openapi(revokeTokenRoute, async (c) => {
    const p = orgMember(c);
    const row = await revokePat(deps(c), p, c.req.valid("param").id);
    await audit(c, "token.revoked", row);
    return c.body(null, 204);
  });

  app.openapi(createAgentRoute, async (c) => {
    const p = orgMember(c);
    const created = await createAgent(deps(c), p, c.req.valid("json"));
    await audit(c, "agent.created", { ...created, orgId: p.orgId });
    return c.json(created, 201);
  });

  app.openapi(listAgentsRoute, async (c) => {
    const p = orgMember(c);
    const { limit, cursor, memberId, all } = c.req.valid("query");
    let userId: string | undefined = p.userId;
    const readAll = allows(p, "data:read_all", "GET");
    const denied = () =>
      new AppError(403, "FORBIDDEN", "Only managers and admins may list other members' agents");
    if (all === "true") {
      if (!readAll) throw denied();
      userId = undefined;
    } else if (memberId) {
      userId = await memberUser(deps(c), p.orgId, memberId);
      if (userId !== p.userId && !readAll) throw denied();
    }
    const rows = await listAgents(deps(c), p.orgId, { userId, limit, cursor: cursorOf(cursor) });
    return c.json(page(c, rows, limit, toAgentView), 200);
  });

  app.openapi(getCurrentAgentRoute, (c) => {
    const p = orgMember(c);
    if (p.kind !== "agent") throw new AppError(403, "FORBIDDEN", "Only an agent token can use this route");
    return c.json({ agentId: p.tokenId, userId: p.userId, orgId: p.orgId }, 200);
  });

  app.openapi(revokeAgentRoute, async (c) => {
    const p = orgMember(c);
    const canManage = allows(p, "members:write", "DELETE");
    const row = await revokeAgent(
      deps(c),
      { userId: p.userId, orgId: p.orgId, canManage },
      c.req.valid("param").id,
    );
    await audit(c, "agent.revoked", row, { by: row.userId === p.userId ? "owner" : "manager" });
    return c.body(null, 204);
  });
}
