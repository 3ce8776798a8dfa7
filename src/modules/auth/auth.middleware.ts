import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Identity, Principal } from "../../http/context";
import { resolveStaticToken } from "../../http/middleware/auth";
import { AppError } from "../../lib/errors";
import { then } from "../../lib/maybe-async";
import { type Permission, roleAllows } from "../orgs/permissions";
import { findSessionPrincipal, findTokenPrincipal, touchToken } from "./auth.repo";
import {
  type AccessClaims,
  hashToken,
  TOKEN_PREFIX,
  verifiedAccessToken,
  verifyAccessToken,
} from "./auth.tokens";
import { sessionKey, tokenKey } from "./principal-cache";
import { SESSION_IDLE_MS } from "./session.service";

/** last-used times are written at most this often per token, to keep reads read-only. */
const TOUCH_EVERY_MS = 60_000;

const unauthorized = (detail = "Missing or invalid credentials") =>
  new AppError(401, "UNAUTHORIZED", detail, { headers: { "WWW-Authenticate": 'Bearer realm="teamtrack"' } });

function bearer(c: Context<AppEnv>): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  return m?.[1] ?? null;
}

/**
 * Resolves `Authorization: Bearer …` into `c.var.principal`: instance tokens, personal access
 * tokens (`ttp_…`), agent tokens (`tta_…`) or an access JWT. A revoked session or token, or a
 * changed role, takes effect on the very next request: the session and role come from the principal
 * cache, which every such write invalidates (on every instance) before it answers, else from the
 * database.
 * No credentials → no principal (routes decide); bad credentials → 401 at once.
 *
 * A user session whose access token was verified before and whose session is cached resolves
 * without an await (profiled: the promise hops were a sixth of a cheap authenticated GET); a first
 * sight of either goes through the same checks asynchronously.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const token = bearer(c);
    if (!token) return next();
    // next()'s promise, at once or once the credentials are resolved; a sync throw reaches onError too.
    return then(resolve(c, token), (resolved) => {
      if (!resolved) throw unauthorized();
      c.set("principal", resolved.principal);
      if (resolved.identity) c.set("identity", resolved.identity);
      return next();
    }) as Promise<void>;
  };
}

type Resolved = { principal: Principal; identity?: Identity } | null;

type SessionRow = NonNullable<Awaited<ReturnType<typeof findSessionPrincipal>>>;
type TokenRow = NonNullable<Awaited<ReturnType<typeof findTokenPrincipal>>>;

/** What the principal cache holds: the row read below, with what is derived from it made once. */
export type CachedAuth =
  | { type: "session"; row: SessionRow; identity: Identity }
  | { type: "token"; row: Omit<TokenRow, "scopes">; scopes: string[]; identity: Identity };

function identityOf(row: SessionRow | TokenRow): Identity {
  return {
    user: { id: row.userId, email: row.email, name: row.name, emailVerified: row.emailVerifiedAt !== null },
    organization: row.orgId && row.orgName !== null ? { id: row.orgId, name: row.orgName } : null,
  };
}

function resolve(c: Context<AppEnv>, token: string): Resolved | Promise<Resolved> {
  const fixed = resolveStaticToken(c, token);
  if (fixed) return { principal: fixed };
  const now = c.get("platform").clock.now();
  if (token.startsWith(`${TOKEN_PREFIX.pat}_`) || token.startsWith(`${TOKEN_PREFIX.agent}_`))
    return resolveApiToken(c, token, now);
  const jwt = c.get("services").sessions.jwt;
  const known = verifiedAccessToken(token, jwt, now);
  if (known === null) return null; // verified once, expired since
  return then(known ?? verifyAccessToken(token, jwt, now), (claims) =>
    claims ? resolveSession(c, claims, now) : null,
  );
}

function resolveSession(c: Context<AppEnv>, claims: AccessClaims, now: Date): Resolved | Promise<Resolved> {
  const { db } = c.get("platform");
  const cached = c.get("services").principals.load(sessionKey(claims.sid), async () => {
    const row = await findSessionPrincipal(db, claims.sid);
    return row && { userId: row.userId, value: { type: "session", row, identity: identityOf(row) } };
  });
  return then(cached, (found) => {
    if (found?.type !== "session") return null;
    const session = found.row;
    if (session.userId !== claims.sub || session.revokedAt || session.expiresAt <= now) return null;
    if (now.getTime() - session.lastUsedAt.getTime() > SESSION_IDLE_MS) return null;
    return {
      principal: {
        kind: "user",
        userId: session.userId,
        orgId: session.orgId,
        role: session.role,
        sessionId: session.id,
      },
      identity: found.identity,
    };
  });
}

async function resolveApiToken(c: Context<AppEnv>, token: string, now: Date): Promise<Resolved> {
  const { db } = c.get("platform");
  const hash = await hashToken(token);
  const cached = await c.get("services").principals.load(tokenKey(hash), async () => {
    const found = await findTokenPrincipal(db, hash);
    if (!found) return null;
    const { scopes, ...row } = found;
    const value: CachedAuth = {
      type: "token",
      row,
      scopes: JSON.parse(scopes),
      identity: identityOf(found),
    };
    return { userId: row.userId, value };
  });
  if (cached?.type !== "token") return null;
  const { row, scopes, identity } = cached;
  if (!row.role || (row.expiresAt && row.expiresAt <= now)) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    row.lastUsedAt = now; // the cached copy too, or every later request would touch again
    c.get("defer")(touchToken(db, row.id, now));
  }
  return {
    principal: {
      kind: row.kind,
      userId: row.userId,
      orgId: row.orgId,
      role: row.role,
      tokenId: row.id,
      scopes,
    },
    identity,
  };
}

/** The caller must be a signed-in user, PAT or agent (not an instance token). */
export function currentMember(c: Context<AppEnv>) {
  const p = c.get("principal");
  if (!p) throw unauthorized();
  if (p.kind === "operator" || p.kind === "metrics")
    throw new AppError(403, "FORBIDDEN", "These credentials cannot use this route");
  return p;
}

/** Which token scope a permission needs: `<area>:read` for reads, `<area>:write` otherwise. */
export function scopeFor(permission: Permission, method: string): string {
  const area = permission.split(":")[0] ?? permission;
  return `${area}:${method === "GET" || method === "HEAD" ? "read" : "write"}`;
}

/**
 * Route guard: a member whose current role grants `permission` in their organization. Tokens also
 * need the matching scope (`ingest` tokens never pass). A member with no organization gets 403.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = currentMember(c);
    if (!p.orgId || !p.role || !roleAllows(p.role, permission))
      throw new AppError(403, "FORBIDDEN", `Your role cannot do this (${permission})`);
    if (p.kind !== "user") {
      const needed = scopeFor(permission, c.req.method);
      if (!p.scopes.includes(needed) && !p.scopes.includes("*"))
        throw new AppError(403, "INSUFFICIENT_SCOPE", `This token lacks the "${needed}" scope`);
    }
    await next();
  };
}

/** Routes that act on the account itself (password, email, 2FA): a user session, never an API or agent token. */
export function userSession(c: Context<AppEnv>) {
  const p = currentMember(c);
  if (p.kind !== "user") throw new AppError(403, "FORBIDDEN", "Sign in with your password to do this");
  return p;
}

/** `userSession` as a guard, run before body validation so an anonymous caller learns nothing of the body rules. */
export function requireUserSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    userSession(c);
    await next();
  };
}

/** Any authenticated member (user session or token), whatever the role. */
export function requireMember(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    currentMember(c);
    await next();
  };
}
