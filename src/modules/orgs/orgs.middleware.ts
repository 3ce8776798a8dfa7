import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../http/context";
import { AppError } from "../../lib/errors";
import { currentMember, requirePermission } from "../auth/auth.middleware";
import type { Permission } from "./permissions";

/**
 * Guard of every `/orgs/{orgId}/…` route: the caller must be acting in that very organization (a
 * session or token acts in one), else 404 as if it did not exist (BOLA: never 403, never data for
 * another organization's id). Then the role must grant `permission` (403 otherwise). Runs before
 * input validation, so anonymous callers get 401 whatever they send.
 */
export function orgMember(permission: Permission): MiddlewareHandler<AppEnv>[] {
  const sameOrg: MiddlewareHandler<AppEnv> = async (c, next) => {
    const principal = currentMember(c);
    if (!principal.orgId || principal.orgId !== c.req.param("orgId"))
      throw new AppError(404, "NOT_FOUND", "No such organization");
    await next();
  };
  return [sameOrg, requirePermission(permission)];
}
