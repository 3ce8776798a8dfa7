import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { preparedQuery } from "../../db/prepared";
import { apiTokens, memberships, sessions } from "../../db/schema";

/** What the auth middleware needs about a session, in one indexed query. */
const sessionPrincipal = preparedQuery((db) =>
  db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      orgId: sessions.orgId,
      revokedAt: sessions.revokedAt,
      expiresAt: sessions.expiresAt,
      lastUsedAt: sessions.lastUsedAt,
      role: memberships.role,
    })
    .from(sessions)
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, sessions.orgId), eq(memberships.userId, sessions.userId)),
    )
    .where(eq(sessions.id, sql.placeholder("id")))
    .limit(1)
    .prepare(),
);

export async function findSessionPrincipal(db: Db, sessionId: string) {
  return (await sessionPrincipal(db).get({ id: sessionId })) ?? null;
}

/** A live (not revoked) API or agent token by its hash, with the owner's current role. */
const tokenPrincipal = preparedQuery((db) =>
  db
    .select({
      id: apiTokens.id,
      kind: apiTokens.kind,
      userId: apiTokens.userId,
      orgId: apiTokens.orgId,
      scopes: apiTokens.scopes,
      expiresAt: apiTokens.expiresAt,
      lastUsedAt: apiTokens.lastUsedAt,
      role: memberships.role,
    })
    .from(apiTokens)
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, apiTokens.orgId), eq(memberships.userId, apiTokens.userId)),
    )
    .where(and(eq(apiTokens.tokenHash, sql.placeholder("hash")), isNull(apiTokens.revokedAt)))
    .limit(1)
    .prepare(),
);

export async function findTokenPrincipal(db: Db, tokenHash: string) {
  return (await tokenPrincipal(db).get({ hash: tokenHash })) ?? null;
}

export async function touchToken(db: Db, id: string, at: Date): Promise<void> {
  await db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id));
}
