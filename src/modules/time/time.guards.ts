import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../http/context";
import { AppError } from "../../lib/errors";
import { currentMember, requirePermission } from "../auth/auth.middleware";
import { roleAllows } from "../orgs/permissions";

/**
 * The caller's own timer: signed-in members and tokens by `time:read`/`time:write`, and also the
 * member's desktop agent (SPEC 2.2: agent tokens are scoped to ingest and their member's own timer),
 * still only while the member's current role may track time.
 */
export function requireOwnTimer(permission: "time:read" | "time:write"): MiddlewareHandler<AppEnv> {
  const regular = requirePermission(permission);
  return async (c, next) => {
    const p = currentMember(c);
    if (p.kind !== "agent") return regular(c, next);
    if (!p.orgId || !p.role || !roleAllows(p.role, permission) || !p.scopes.includes("ingest"))
      throw new AppError(403, "FORBIDDEN", `Your role cannot do this (${permission})`);
    await next();
  };
}
