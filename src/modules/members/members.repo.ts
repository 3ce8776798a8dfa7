import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { memberships, users } from "../../db/schema";

const memberColumns = {
  id: memberships.id,
  orgId: memberships.orgId,
  userId: memberships.userId,
  role: memberships.role,
  name: users.name,
  displayName: memberships.displayName,
  timezone: memberships.timezone,
  status: memberships.status,
  statusChangedAt: memberships.statusChangedAt,
  lastSeenAt: memberships.lastSeenAt,
  updatedAt: memberships.updatedAt,
};

export type MemberRow = {
  id: string;
  orgId: string;
  userId: string;
  role: (typeof memberships.$inferSelect)["role"];
  name: string;
  displayName: string | null;
  timezone: string;
  status: (typeof memberships.$inferSelect)["status"];
  statusChangedAt: Date | null;
  lastSeenAt: Date | null;
  updatedAt: Date;
};

/** A membership of `orgId` by id, with its user's name; null when it is not in this organization. */
export async function findMember(db: Db, orgId: string, id: string): Promise<MemberRow | null> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, id)))
    .limit(1);
  return row ?? null;
}

/** The caller's own membership of `orgId`. */
export async function findMemberByUser(db: Db, orgId: string, userId: string): Promise<MemberRow | null> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1);
  return row ?? null;
}

export async function updateProfile(
  db: Db,
  orgId: string,
  id: string,
  patch: { displayName?: string | null; timezone?: string },
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(memberships)
    .set({ ...patch, updatedAt: now })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, id)))
    .returning({ id: memberships.id });
  return rows.length === 1;
}
