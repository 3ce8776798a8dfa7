import { and, asc, desc, eq, isNull, ne } from "drizzle-orm";
import type { Db } from "../../db/client";
import { refreshTokens, sessions } from "../../db/schema";
import { base64url, fromBase64url } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import type { Clock } from "../../ports/clock";
import {
  ACCESS_TTL_SECONDS,
  hashToken,
  type JwtSettings,
  newOpaqueToken,
  signAccessToken,
  TOKEN_PREFIX,
} from "./auth.tokens";
import { type PrincipalInvalidation, sessionKey } from "./principal-cache";

export const SESSION_ABSOLUTE_MS = 30 * 86_400_000;
export const SESSION_IDLE_MS = 7 * 86_400_000;
export const REFRESH_GRACE_MS = 10_000;
export const MAX_SESSIONS = 10;

export interface SessionDeps {
  db: Db;
  clock: Clock;
  jwt: JwtSettings;
  /** Secret for deriving a refresh token's successor (see `successorOf`). */
  refreshKey: string;
  maxSessions?: number;
  graceMs?: number;
  /** Told of every change to a session, so the auth middleware's cache never serves the old state. */
  principals: PrincipalInvalidation;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: "Bearer";
  sessionId: string;
}

export type RefreshOutcome =
  | { ok: true; tokens: TokenPair; userId: string }
  | { ok: false; reason: "unknown" | "expired" | "revoked" }
  | { ok: false; reason: "reused"; sessionId: string; userId: string };

/**
 * The successor of a refresh token is derived from it (HMAC under a server key), not random. So a
 * client racing two refreshes of the same token inside the grace window gets the *same* successor
 * back from both, with nothing secret stored in the clear.
 */
async function successorOf(token: string, key: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      k,
      fromBase64url(token.slice(TOKEN_PREFIX.refresh.length + 1)) as BufferSource,
    ),
  );
  return `${TOKEN_PREFIX.refresh}_${base64url(mac)}`;
}

export class SessionService {
  constructor(private readonly deps: SessionDeps) {}

  /** The access-token settings sessions are signed with (one object for the app's life). */
  get jwt(): JwtSettings {
    return this.deps.jwt;
  }

  async #pair(
    sessionId: string,
    userId: string,
    orgId: string | null,
    refreshToken: string,
  ): Promise<TokenPair> {
    const accessToken = await signAccessToken(
      { sub: userId, sid: sessionId, org: orgId },
      this.deps.jwt,
      this.deps.clock.now(),
    );
    return { accessToken, refreshToken, expiresIn: ACCESS_TTL_SECONDS, tokenType: "Bearer", sessionId };
  }

  /** New session (login). Over the concurrent-session limit, the oldest live sessions are revoked. */
  async create(input: {
    userId: string;
    orgId: string | null;
    userAgent?: string | null;
    ip?: string | null;
  }): Promise<TokenPair> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const sessionId = newId("session", now);
    const refreshToken = newOpaqueToken("refresh");
    await db.batch([
      db.insert(sessions).values({
        id: sessionId,
        userId: input.userId,
        orgId: input.orgId,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
        ip: input.ip ?? null,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + SESSION_ABSOLUTE_MS),
      }),
      db.insert(refreshTokens).values({
        id: newId("session", now).replace("ses_", "rt_"),
        sessionId,
        tokenHash: await hashToken(refreshToken),
        createdAt: now,
      }),
    ]);
    const live = await this.list(input.userId);
    const max = this.deps.maxSessions ?? MAX_SESSIONS;
    for (const old of live.slice(0, Math.max(0, live.length - max)).filter((s) => s.id !== sessionId)) {
      await this.revoke(old.id, "session_limit");
    }
    return this.#pair(sessionId, input.userId, input.orgId, refreshToken);
  }

  /** A fresh access token for an existing session (after its organization changed). */
  accessToken(sessionId: string, userId: string, orgId: string | null): Promise<string> {
    return signAccessToken({ sub: userId, sid: sessionId, org: orgId }, this.deps.jwt, this.deps.clock.now());
  }

  /** Live sessions of a user, oldest first. */
  async list(userId: string) {
    const now = this.deps.clock.now().getTime();
    const rows = await this.deps.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .orderBy(asc(sessions.createdAt));
    return rows.filter((s) => s.expiresAt.getTime() > now && now - s.lastUsedAt.getTime() <= SESSION_IDLE_MS);
  }

  async revoke(sessionId: string, reason: string): Promise<boolean> {
    const { db, clock } = this.deps;
    const rows = await db
      .update(sessions)
      .set({ revokedAt: clock.now(), revokedReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    await this.deps.principals.invalidateKey(sessionKey(sessionId));
    return rows.length > 0;
  }

  /** Points a live session at another organization (the caller then gets a new access token). */
  async switchOrg(sessionId: string, orgId: string): Promise<void> {
    await this.deps.db
      .update(sessions)
      .set({ orgId })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
    await this.deps.principals.invalidateKey(sessionKey(sessionId));
  }

  async revokeAllFor(userId: string, reason: string, exceptSessionId?: string): Promise<number> {
    const { db, clock } = this.deps;
    const where = exceptSessionId
      ? and(eq(sessions.userId, userId), isNull(sessions.revokedAt), ne(sessions.id, exceptSessionId))
      : and(eq(sessions.userId, userId), isNull(sessions.revokedAt));
    const rows = await db
      .update(sessions)
      .set({ revokedAt: clock.now(), revokedReason: reason })
      .where(where)
      .returning({ id: sessions.id });
    await this.deps.principals.invalidateUser(userId);
    return rows.length;
  }

  /**
   * Rotation with reuse detection. A token already rotated more than the grace window ago means
   * the family leaked: the whole session is revoked (its newest token dies too) and the caller is
   * told, so it can be audited. Inside the grace window the same successor is handed back.
   */
  async refresh(
    token: string,
    meta: { ip?: string | null; userAgent?: string | null } = {},
  ): Promise<RefreshOutcome> {
    const { db, clock, refreshKey } = this.deps;
    if (!token.startsWith(`${TOKEN_PREFIX.refresh}_`)) return { ok: false, reason: "unknown" };
    const now = clock.now();
    const [row] = await db
      .select({ rt: refreshTokens, s: sessions })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .where(eq(refreshTokens.tokenHash, await hashToken(token)))
      .limit(1);
    if (!row) return { ok: false, reason: "unknown" };
    const { rt, s } = row;
    if (s.revokedAt) return { ok: false, reason: "revoked" };
    if (s.expiresAt <= now || now.getTime() - s.lastUsedAt.getTime() > SESSION_IDLE_MS)
      return { ok: false, reason: "expired" };
    const successor = await successorOf(token, refreshKey);
    if (rt.rotatedAt) {
      if (now.getTime() - rt.rotatedAt.getTime() <= (this.deps.graceMs ?? REFRESH_GRACE_MS)) {
        return { ok: true, userId: s.userId, tokens: await this.#pair(s.id, s.userId, s.orgId, successor) };
      }
      await this.revoke(s.id, "refresh_token_reuse");
      return { ok: false, reason: "reused", sessionId: s.id, userId: s.userId };
    }
    // Claim the rotation atomically: of two concurrent refreshes, exactly one updates the row; the
    // other sees rotatedAt set and, being inside the grace window, gets the same successor.
    const successorId = newId("refreshToken", now);
    const claimed = await db
      .update(refreshTokens)
      .set({ rotatedAt: now, replacedById: successorId })
      .where(and(eq(refreshTokens.id, rt.id), isNull(refreshTokens.rotatedAt)))
      .returning({ id: refreshTokens.id });
    if (claimed.length === 1) {
      await db.batch([
        db
          .insert(refreshTokens)
          .values({ id: successorId, sessionId: s.id, tokenHash: await hashToken(successor), createdAt: now })
          .onConflictDoNothing(),
        db
          .update(sessions)
          .set({
            lastUsedAt: now,
            ...(meta.ip ? { ip: meta.ip } : {}),
            ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 512) } : {}),
          })
          .where(eq(sessions.id, s.id)),
      ]);
      // A cached lastUsedAt would let the idle timeout fire on a session that was just used.
      await this.deps.principals.invalidateKey(sessionKey(s.id));
    }
    return { ok: true, userId: s.userId, tokens: await this.#pair(s.id, s.userId, s.orgId, successor) };
  }

  /** Newest refresh token rows of a session (tests and admin views). */
  async tokens(sessionId: string) {
    return this.deps.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.sessionId, sessionId))
      .orderBy(desc(refreshTokens.createdAt));
  }
}
