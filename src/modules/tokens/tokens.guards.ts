import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Principal } from "../../http/context";
import { AppError } from "../../lib/errors";
import { currentMember, scopeFor } from "../auth/auth.middleware";
import { type Permission, roleAllows } from "../orgs/permissions";

type MemberPrincipal = Exclude<Principal, { kind: "operator" } | { kind: "metrics" }>;
export type OrgPrincipal = MemberPrincipal & { orgId: string; role: NonNullable<MemberPrincipal["role"]> };

/** The caller as a member of an organization (a user without one cannot hold tokens: 403). */
export function orgMember(c: Context<AppEnv>): OrgPrincipal {
  const p = currentMember(c);
  if (!p.orgId || !p.role) throw new AppError(403, "FORBIDDEN", "You are not a member of an organization");
  return p as OrgPrincipal;
}

/**
 * Role and, for tokens, scope: the same rule as `requirePermission`, for checks a handler makes
 * after reading the request (e.g. "someone else's agent needs `members:write`").
 */
export function allows(p: OrgPrincipal, permission: Permission, method: string): boolean {
  if (!roleAllows(p.role, permission)) return false;
  if (p.kind === "user") return true;
  const needed = scopeFor(permission, method);
  return p.scopes.includes(needed) || p.scopes.includes("*");
}

/**
 * Only a signed-in user session may mint, list or revoke tokens: a leaked token must not be able
 * to mint itself a longer-lived or broader successor. `permission`, when given, is checked too.
 */
export function requireSession(permission?: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = orgMember(c);
    if (p.kind !== "user")
      throw new AppError(403, "SESSION_REQUIRED", "Tokens can only be managed from a signed-in session");
    if (permission && !roleAllows(p.role, permission))
      throw new AppError(403, "FORBIDDEN", `Your role cannot do this (${permission})`);
    await next();
  };
}

/**
 * Listing and revoking agents: a session, or a personal access token with `own:read` / `own:write`.
 * Agent tokens themselves hold only `ingest`, so they are refused here like everywhere else.
 */
export function requireOwnScope(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = orgMember(c);
    if (p.kind !== "user") {
      const needed = `own:${c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "write"}`;
      if (!p.scopes.includes(needed) && !p.scopes.includes("*"))
        throw new AppError(403, "INSUFFICIENT_SCOPE", `This token lacks the "${needed}" scope`);
    }
    await next();
  };
}

/** Routes for desktop agents: an agent token only. */
export function requireAgent(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = orgMember(c);
    if (p.kind !== "agent") throw new AppError(403, "FORBIDDEN", "Only an agent token can use this route");
    await next();
  };
}
