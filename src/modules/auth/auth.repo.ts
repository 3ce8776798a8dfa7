import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { preparedQuery } from "../../db/prepared";
import { apiTokens, memberships, organizations, sessions, users } from "../../db/schema";

/**
 * Who is behind a credential, as `/me` and the audit trail show them: kept with the principal in
 * the cache (like Better Auth's session + user), so an authenticated request reads nothing more.
 */
const identityColumns = {
  email: users.email,
  name: users.name,
  emailVerifiedAt: users.emailVerifiedAt,
  orgName: organizations.name,
};

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
      ...identityColumns,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, sessions.orgId), eq(memberships.userId, sessions.userId)),
    )
    .leftJoin(organizations, eq(organizations.id, sessions.orgId))
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
      ...identityColumns,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, apiTokens.orgId), eq(memberships.userId, apiTokens.userId)),
    )
    .leftJoin(organizations, eq(organizations.id, apiTokens.orgId))
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
