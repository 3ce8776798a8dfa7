import { and, asc, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { apiTokens, memberships, organizations, type Role, sessions, users } from "../../db/schema";

/** Every query here takes the organization id: a member id from another organization matches nothing. */

export async function insertOrgWithAdmin(
  db: Db,
  row: { orgId: string; membershipId: string; name: string; userId: string; now: Date },
): Promise<void> {
  const { orgId, membershipId, name, userId, now } = row;
  await db.batch([
    db.insert(organizations).values({ id: orgId, name, createdAt: now, updatedAt: now }),
    db
      .insert(memberships)
      .values({ id: membershipId, orgId, userId, role: "admin", createdAt: now, updatedAt: now }),
  ]);
}

export async function findOrg(db: Db, orgId: string) {
  const [row] = await db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return row ?? null;
}

export async function updateOrgName(db: Db, orgId: string, name: string, now: Date) {
  const [row] = await db
    .update(organizations)
    .set({ name, updatedAt: now })
    .where(eq(organizations.id, orgId))
    .returning();
  return row ?? null;
}

const memberColumns = {
  id: memberships.id,
  orgId: memberships.orgId,
  userId: memberships.userId,
  role: memberships.role,
  createdAt: memberships.createdAt,
  updatedAt: memberships.updatedAt,
  name: users.name,
  email: users.email,
};

export type MemberRow = {
  id: string;
  orgId: string;
  userId: string;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
  name: string;
  email: string;
};

/** Members oldest first; `after` is the (createdAt, id) of the last row already served. */
export async function listMembers(
  db: Db,
  orgId: string,
  opts: { limit: number; after?: { createdAt: number; id: string }; role?: Role },
): Promise<MemberRow[]> {
  const conds: (SQL | undefined)[] = [eq(memberships.orgId, orgId)];
  if (opts.role) conds.push(eq(memberships.role, opts.role));
  if (opts.after) {
    const at = new Date(opts.after.createdAt);
    conds.push(
      or(
        gt(memberships.createdAt, at),
        and(eq(memberships.createdAt, at), gt(memberships.id, opts.after.id)),
      ),
    );
  }
  return db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(...conds))
    .orderBy(asc(memberships.createdAt), asc(memberships.id))
    .limit(opts.limit + 1);
}

export async function findMember(db: Db, orgId: string, memberId: string): Promise<MemberRow | null> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)))
    .limit(1);
  return row ?? null;
}

/** A user's membership id in `orgId`, or null. */
export async function findMembershipId(db: Db, orgId: string, userId: string): Promise<string | null> {
  return (await findMemberByUser(db, orgId, userId))?.id ?? null;
}

/** Whether a membership id belongs to `orgId` (another organization's id matches nothing). */
export async function memberExists(db: Db, orgId: string, memberId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)))
    .limit(1);
  return row !== undefined;
}

export async function findMemberByUser(db: Db, orgId: string, userId: string) {
  const [row] = await db
    .select({ id: memberships.id, role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1);
  return row ?? null;
}

export async function findMemberByEmail(db: Db, orgId: string, email: string) {
  const [row] = await db
    .select({ id: memberships.id })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(users.email, email)))
    .limit(1);
  return row ?? null;
}

export async function countAdmins(db: Db, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "admin")));
  return Number(row?.n ?? 0);
}

/**
 * True while the organization keeps another admin besides the row being changed. Evaluated inside
 * the UPDATE/DELETE itself, so two admins demoting each other at once cannot both succeed.
 */
const anotherAdminRemains = (orgId: string) =>
  sql`(select count(*) from memberships as m2 where m2.org_id = ${orgId} and m2.role = 'admin') > 1`;

/** Changes a role only if it is still `from`; never leaves the organization without an admin. */
export async function updateRole(
  db: Db,
  args: { orgId: string; memberId: string; from: Role; to: Role; now: Date },
): Promise<boolean> {
  const { orgId, memberId, from, to, now } = args;
  const rows = await db
    .update(memberships)
    .set({ role: to, updatedAt: now })
    .where(
      and(
        eq(memberships.id, memberId),
        eq(memberships.orgId, orgId),
        eq(memberships.role, from),
        from === "admin" && to !== "admin" ? anotherAdminRemains(orgId) : undefined,
      ),
    )
    .returning({ id: memberships.id });
  return rows.length === 1;
}

/**
 * Removes a membership and, in the same atomic batch, revokes the user's API/agent tokens and
 * sessions bound to this organization. The revocations only apply once the membership is gone,
 * so a refused delete (last admin, role changed meanwhile) revokes nothing.
 */
export async function deleteMemberAndRevoke(
  db: Db,
  args: { orgId: string; memberId: string; userId: string; role: Role; now: Date },
): Promise<{ deleted: boolean; sessions: number; tokens: number }> {
  const { orgId, memberId, userId, role, now } = args;
  const gone = sql`not exists (select 1 from memberships as m3 where m3.org_id = ${orgId} and m3.user_id = ${userId})`;
  const [deleted, tokens, revokedSessions] = await db.batch([
    db
      .delete(memberships)
      .where(
        and(
          eq(memberships.id, memberId),
          eq(memberships.orgId, orgId),
          eq(memberships.role, role),
          role === "admin" ? anotherAdminRemains(orgId) : undefined,
        ),
      )
      .returning({ id: memberships.id }),
    db
      .update(apiTokens)
      .set({ revokedAt: now })
      .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt), gone))
      .returning({ id: apiTokens.id }),
    db
      .update(sessions)
      .set({ revokedAt: now, revokedReason: "membership_removed" })
      .where(and(eq(sessions.orgId, orgId), eq(sessions.userId, userId), isNull(sessions.revokedAt), gone))
      .returning({ id: sessions.id }),
  ]);
  return { deleted: deleted.length === 1, sessions: revokedSessions.length, tokens: tokens.length };
}

export async function findUser(db: Db, userId: string) {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  return row ?? null;
}
