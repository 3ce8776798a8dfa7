import { AppError } from "../../lib/errors";
import { userOrganizations } from "./auth.accounts.repo";
import { type AuthDeps, audit, type RequestMeta } from "./auth.service";
import { ACCESS_TTL_SECONDS } from "./auth.tokens";

/** Session management for the signed-in user: logout, list, revoke one, revoke the others. */

export interface SessionCaller {
  userId: string;
  orgId: string | null;
  sessionId: string;
}

export async function logout(deps: AuthDeps, caller: SessionCaller, meta: RequestMeta): Promise<void> {
  await deps.sessions.revoke(caller.sessionId, "logout");
  await audit(deps, meta, {
    orgId: caller.orgId,
    actorType: "user",
    actorId: caller.userId,
    action: "auth.logout",
    targetType: "session",
    targetId: caller.sessionId,
  });
}

export async function listSessions(deps: AuthDeps, caller: SessionCaller) {
  const rows = await deps.sessions.list(caller.userId);
  return rows
    .reverse() // newest first
    .map((s) => ({
      id: s.id,
      userAgent: s.userAgent,
      ip: s.ip,
      createdAt: s.createdAt.toISOString(),
      lastUsedAt: s.lastUsedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      current: s.id === caller.sessionId,
    }));
}

/** Revokes one of the caller's own live sessions; anything else (another user's, unknown, dead) is 404. */
export async function revokeSession(
  deps: AuthDeps,
  caller: SessionCaller,
  sessionId: string,
  meta: RequestMeta,
): Promise<void> {
  const own = (await deps.sessions.list(caller.userId)).find((s) => s.id === sessionId);
  if (!own || !(await deps.sessions.revoke(own.id, "revoked_by_user")))
    throw new AppError(404, "SESSION_NOT_FOUND", "No such session");
  await audit(deps, meta, {
    orgId: caller.orgId,
    actorType: "user",
    actorId: caller.userId,
    action: "session.revoked",
    targetType: "session",
    targetId: sessionId,
    metadata: { current: sessionId === caller.sessionId },
  });
}

export async function revokeOtherSessions(
  deps: AuthDeps,
  caller: SessionCaller,
  meta: RequestMeta,
): Promise<number> {
  const revoked = await deps.sessions.revokeAllFor(caller.userId, "revoked_by_user", caller.sessionId);
  await audit(deps, meta, {
    orgId: caller.orgId,
    actorType: "user",
    actorId: caller.userId,
    action: "session.revoked_others",
    targetType: "session",
    targetId: caller.sessionId,
    metadata: { revoked },
  });
  return revoked;
}

export async function listOrganizations(deps: AuthDeps, userId: string) {
  return userOrganizations(deps.db, userId);
}

/**
 * Moves the current session to another organization the user belongs to and returns a fresh access
 * token for it; the refresh token keeps working (refresh reads the session's organization). Not a
 * member → 404, like any other organization's id.
 */
export async function switchOrganization(
  deps: AuthDeps,
  caller: SessionCaller,
  orgId: string,
  meta: RequestMeta,
) {
  const org = (await userOrganizations(deps.db, caller.userId)).find((o) => o.id === orgId);
  if (!org) throw new AppError(404, "ORGANIZATION_NOT_FOUND", "No such organization");
  await deps.sessions.switchOrg(caller.sessionId, orgId);
  const accessToken = await deps.sessions.accessToken(caller.sessionId, caller.userId, orgId);
  await audit(deps, meta, {
    orgId,
    actorType: "user",
    actorId: caller.userId,
    action: "session.organization_switched",
    targetType: "session",
    targetId: caller.sessionId,
    metadata: { from: caller.orgId },
  });
  return { accessToken, expiresIn: ACCESS_TTL_SECONDS, tokenType: "Bearer" as const, organization: org };
}
