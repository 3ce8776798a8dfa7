import type { Context } from "hono";
import { deleteCookie, generateCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { currentMember } from "./auth.middleware";
import {
  listSessionsRoute,
  loginRoute,
  logoutRoute,
  meRoute,
  myOrganizationsRoute,
  refreshRoute,
  registerRoute,
  revokeOtherSessionsRoute,
  revokeSessionRoute,
  switchOrganizationRoute,
} from "./auth.routes";
import * as auth from "./auth.service";
import * as sessions from "./auth.sessions.service";
import type { TokenPair } from "./session.service";
import { SESSION_ABSOLUTE_MS } from "./session.service";

export const REFRESH_COOKIE = "tt_refresh";
const COOKIE_PATH = "/api/v1/auth";

export function deps(c: Context<AppEnv>): auth.AuthDeps {
  const p = c.get("platform");
  const s = c.get("services");
  return {
    db: p.db,
    clock: p.clock,
    config: p.config,
    mailer: p.mailer,
    passwords: p.passwords,
    sessions: s.sessions,
    audit: s.audit,
    events: s.events,
    kv: p.kv,
    rateLimiter: p.rateLimiter,
    secrets: s.secrets,
    defer: c.get("defer"),
  };
}

export function meta(c: Context<AppEnv>): auth.RequestMeta {
  const ip = c.get("clientIp")();
  return {
    ip: ip && ip !== "unknown" ? ip : null,
    userAgent: c.req.header("user-agent") ?? null,
    requestId: c.get("requestId") ?? null,
  };
}

/** Browsers get the refresh token as an HttpOnly cookie only the auth routes ever receive. */
function cookieOptions(c: Context<AppEnv>): CookieOptions {
  const { config } = c.get("platform");
  return {
    httpOnly: true,
    secure: config.isProduction || config.publicUrl.startsWith("https://"),
    sameSite: "Strict",
    path: COOKIE_PATH,
  };
}

export function setRefreshCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, REFRESH_COOKIE, token, { ...cookieOptions(c), maxAge: SESSION_ABSOLUTE_MS / 1000 });
}

function clearRefreshCookie(c: Context<AppEnv>): void {
  deleteCookie(c, REFRESH_COOKIE, cookieOptions(c));
}

export const pair = (t: TokenPair) => ({
  accessToken: t.accessToken,
  refreshToken: t.refreshToken,
  expiresIn: t.expiresIn,
  tokenType: t.tokenType,
});

/** The signed-in user's session. Personal access and agent tokens cannot manage sessions. */
function sessionCaller(c: Context<AppEnv>): sessions.SessionCaller {
  const p = currentMember(c);
  if (p.kind !== "user")
    throw new AppError(403, "FORBIDDEN", "Only a signed-in user session can manage sessions");
  return { userId: p.userId, orgId: p.orgId, sessionId: p.sessionId };
}

const unauthorized = () =>
  new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials", {
    headers: { "WWW-Authenticate": 'Bearer realm="teamtrack"' },
  });

/** Registration, login, refresh, logout, sessions and `/me`. */
export function registerAuth(app: Router): void {
  app.openapi(registerRoute, async (c) => {
    const result = await auth.register(deps(c), c.req.valid("json"), meta(c));
    return c.json(result, 201);
  });

  app.openapi(loginRoute, async (c) => {
    const result = await auth.login(deps(c), c.req.valid("json"), meta(c));
    if ("mfaRequired" in result) return c.json(result, 200);
    setRefreshCookie(c, result.refreshToken);
    return c.json({ ...pair(result), user: result.user }, 200);
  });

  app.openapi(refreshRoute, async (c) => {
    // The body is optional: without one (or without a JSON content type) validation is skipped.
    const fromBody = (c.req.valid("json") as { refreshToken?: string } | undefined)?.refreshToken;
    const token = fromBody ?? getCookie(c, REFRESH_COOKIE);
    if (!token) {
      throw new AppError(401, "INVALID_REFRESH_TOKEN", "No refresh token in the body or the cookie");
    }
    const outcome = await auth.refresh(deps(c), token, meta(c));
    if (!outcome.ok) {
      // The problem response is built by onError: carry the cookie-clearing header on the error.
      const { status, code, message } = outcome.error;
      throw new AppError(status, code, message, {
        headers: { "Set-Cookie": generateCookie(REFRESH_COOKIE, "", { ...cookieOptions(c), maxAge: 0 }) },
      });
    }
    setRefreshCookie(c, outcome.tokens.refreshToken);
    return c.json(pair(outcome.tokens), 200);
  });

  app.openapi(logoutRoute, async (c) => {
    await sessions.logout(deps(c), sessionCaller(c), meta(c));
    clearRefreshCookie(c);
    return c.body(null, 204);
  });

  app.openapi(listSessionsRoute, async (c) => {
    const data = await sessions.listSessions(deps(c), sessionCaller(c));
    return c.json({ data, nextCursor: null }, 200);
  });

  app.openapi(revokeSessionRoute, async (c) => {
    const caller = sessionCaller(c);
    const { id } = c.req.valid("param");
    await sessions.revokeSession(deps(c), caller, id, meta(c));
    if (id === caller.sessionId) clearRefreshCookie(c);
    return c.body(null, 204);
  });

  app.openapi(revokeOtherSessionsRoute, async (c) => {
    const revoked = await sessions.revokeOtherSessions(deps(c), sessionCaller(c), meta(c));
    return c.json({ revoked }, 200);
  });

  app.openapi(myOrganizationsRoute, async (c) => {
    const p = currentMember(c);
    return c.json({ data: await sessions.listOrganizations(deps(c), p.userId) }, 200);
  });

  app.openapi(switchOrganizationRoute, async (c) => {
    const { organizationId } = c.req.valid("json");
    return c.json(await sessions.switchOrganization(deps(c), sessionCaller(c), organizationId, meta(c)), 200);
  });

  app.openapi(meRoute, async (c) => {
    const p = currentMember(c);
    // Read with the principal by the auth middleware (and cached with it) for every member credential.
    const found = c.get("identity");
    if (!found) throw unauthorized();
    const { id, email, name, emailVerified } = found.user;
    return c.json(
      {
        user: { id, email, name, emailVerified },
        // No membership any more (removed from the organization): neither organization nor role.
        organization: p.role ? found.organization : null,
        role: found.organization ? p.role : null,
        principal: { kind: p.kind },
      },
      200,
    );
  });
}
