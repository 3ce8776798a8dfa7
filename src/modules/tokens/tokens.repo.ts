import { and, desc, eq, isNull, lt, or, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { apiTokens, memberships } from "../../db/schema";

export type TokenKind = (typeof apiTokens.$inferSelect)["kind"];
export type TokenRow = typeof apiTokens.$inferSelect;
export type NewTokenRow = typeof apiTokens.$inferInsert;

/** Keyset position of the last row of a page (newest first). */
export interface TokenCursor {
  createdAt: number;
  id: string;
}

/** What a list shows: never the hash. */
const listColumns = {
  id: apiTokens.id,
  kind: apiTokens.kind,
  userId: apiTokens.userId,
  orgId: apiTokens.orgId,
  name: apiTokens.name,
  scopes: apiTokens.scopes,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  expiresAt: apiTokens.expiresAt,
  memberId: memberships.id,
};

export type TokenListRow = {
  id: string;
  kind: TokenKind;
  userId: string;
  orgId: string;
  name: string;
  scopes: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  memberId: string | null;
};

export async function insertToken(db: Db, row: NewTokenRow): Promise<void> {
  await db.insert(apiTokens).values(row);
}

function after(cursor: TokenCursor | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const at = new Date(cursor.createdAt);
  return or(lt(apiTokens.createdAt, at), and(eq(apiTokens.createdAt, at), lt(apiTokens.id, cursor.id)));
}

/** Live (not revoked) tokens of one kind in one organization, with the owner's membership id. */
function liveTokens(db: Db, orgId: string, kind: TokenKind, ...filters: (SQL | undefined)[]) {
  return db
    .select(listColumns)
    .from(apiTokens)
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, apiTokens.orgId), eq(memberships.userId, apiTokens.userId)),
    )
    .where(
      and(eq(apiTokens.orgId, orgId), eq(apiTokens.kind, kind), isNull(apiTokens.revokedAt), ...filters),
    );
}

/**
 * Newest first; `userId` narrows to one owner. Fetches `limit + 1` rows so the caller can tell
 * whether there is a next page.
 */
export async function listTokens(
  db: Db,
  orgId: string,
  q: { kind: TokenKind; userId?: string; limit: number; cursor?: TokenCursor },
): Promise<TokenListRow[]> {
  return liveTokens(db, orgId, q.kind, q.userId ? eq(apiTokens.userId, q.userId) : undefined, after(q.cursor))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(q.limit + 1);
}

/** One live token of `kind` in `orgId`, or null (another organization's id is simply not found). */
export async function findToken(db: Db, orgId: string, kind: TokenKind, id: string) {
  const [row] = await liveTokens(db, orgId, kind, eq(apiTokens.id, id)).limit(1);
  return row ?? null;
}

/** Marks a token revoked; false when it was already revoked (a concurrent revoke won). */
export async function revokeToken(db: Db, orgId: string, id: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return rows.length > 0;
}

/** A live agent of this member with this device name, if any. */
export async function findAgentByName(db: Db, orgId: string, userId: string, name: string) {
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.orgId, orgId),
        eq(apiTokens.userId, userId),
        eq(apiTokens.kind, "agent"),
        eq(apiTokens.name, name),
        isNull(apiTokens.revokedAt),
      ),
    )
    .limit(1);
  return row ?? null;
}

/** The user behind a membership id of this organization, or null. */
export async function findMemberUser(db: Db, orgId: string, membershipId: string): Promise<string | null> {
  const [row] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, membershipId)))
    .limit(1);
  return row?.userId ?? null;
}
