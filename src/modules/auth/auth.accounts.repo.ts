import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { preparedQuery } from "../../db/prepared";
import { invitations, memberships, organizations, type Role, sessions, users } from "../../db/schema";

/** Queries of the auth flows (register, login, me). Users are global; org data is read by id. */

export type UserRow = typeof users.$inferSelect;

/**
 * A user by normalised email, with their first membership (the organization a new session acts
 * in). One query whether or not the user exists, so both login paths cost the same.
 */
export async function findUserForLogin(db: Db, email: string) {
  const [row] = await db
    .select({ user: users, orgId: memberships.orgId, role: memberships.role })
    .from(users)
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .where(eq(users.email, email))
    .orderBy(asc(memberships.createdAt))
    .limit(1);
  return row ?? null;
}

const userById = preparedQuery((db) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .limit(1)
    .prepare(),
);

export async function findUserById(db: Db, id: string): Promise<UserRow | null> {
  return (await userById(db).get({ id })) ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<{ id: string; name: string } | null> {
  const [row] = await db
    .select({ id: users.id, name: users.name })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
  return row ?? null;
}

/** Inserts a user; false when the email is taken (a concurrent registration won the unique index). */
export async function insertUser(
  db: Db,
  u: { id: string; email: string; name: string; passwordHash: string; now: Date },
): Promise<boolean> {
  const rows = await db
    .insert(users)
    .values({
      id: u.id,
      email: u.email,
      name: u.name,
      passwordHash: u.passwordHash,
      createdAt: u.now,
      updatedAt: u.now,
    })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return rows.length === 1;
}

/** Undo of `insertUser` when the rest of a registration is refused (cascades to memberships). */
export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.delete(users).where(eq(users.id, id));
}

/** Rehash on login: only if the stored hash is still the one we verified (no lost update). */
export async function replacePasswordHash(
  db: Db,
  userId: string,
  oldHash: string,
  newHash: string,
  now: Date,
): Promise<void> {
  await db
    .update(users)
    .set({ passwordHash: newHash, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.passwordHash, oldHash)));
}

const organizationById = preparedQuery((db) =>
  db
    .select({ id: organizations.id, name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, sql.placeholder("id")))
    .limit(1)
    .prepare(),
);

export async function findOrganization(db: Db, orgId: string) {
  return (await organizationById(db).get({ id: orgId })) ?? null;
}

/**
 * An invitation that could be accepted right now by `email` (read-only). Registration checks it
 * before looking at whether the email has an account, so the answer to a bad invitation never
 * depends on account existence.
 */
export async function findOpenInvitation(
  db: Db,
  tokenHash: string,
  email: string,
  now: Date,
): Promise<{ orgId: string; orgName: string; role: Role } | null> {
  const [row] = await db
    .select({ orgId: invitations.orgId, orgName: organizations.name, role: invitations.role })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .where(
      and(
        eq(invitations.tokenHash, tokenHash),
        eq(invitations.email, email),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .limit(1);
  return row ?? null;
}

/** The organization a session acts in (for auditing events about it). */
export async function sessionOrg(db: Db, sessionId: string): Promise<string | null> {
  const [row] = await db
    .select({ orgId: sessions.orgId })
    .from(sessions)
    .where(eq(sessions.id, sessionId))
    .limit(1);
  return row?.orgId ?? null;
}

/** Every organization the user belongs to, oldest membership first. */
export async function userOrganizations(db: Db, userId: string) {
  return db
    .select({ id: organizations.id, name: organizations.name, role: memberships.role })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt));
}
