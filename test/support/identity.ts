import { and, eq } from "drizzle-orm";
import type { Role } from "../../src/db/schema";
import { memberships, organizations, users } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import type { TestApp } from "./app";

export interface SeededMember {
  userId: string;
  orgId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  /** Headers carrying this member's access token. */
  auth: Record<string, string>;
}

let counter = 0;

/**
 * A user with a membership of `role` in `orgId` (a new organization when omitted) and a live
 * session, written straight to the database: tests of other features need a signed-in member,
 * not the registration flow. The password hash is a real argon2id hash of `password`.
 */
export async function seedMember(
  t: TestApp,
  role: Role,
  opts: { orgId?: string; email?: string; password?: string } = {},
): Promise<SeededMember> {
  const { db, clock, passwords } = t.platform;
  const now = clock.now();
  const n = ++counter;
  const email = opts.email ?? `member${n}-${crypto.randomUUID().slice(0, 6)}@example.com`;
  const password = opts.password ?? `Sturdy-Lantern-${n}-Orbit`;
  const userId = newId("user", now);
  let orgId = opts.orgId;
  if (!orgId) {
    orgId = newId("org", now);
    await db.insert(organizations).values({ id: orgId, name: `Org ${n}`, createdAt: now, updatedAt: now });
  }
  await db.insert(users).values({
    id: userId,
    email,
    name: `Member ${n}`,
    passwordHash: await passwords.hash(password),
    emailVerifiedAt: now,
    createdAt: now,
    updatedAt: now,
  });
  await db
    .insert(memberships)
    .values({ id: newId("membership", now), orgId, userId, role, createdAt: now, updatedAt: now });
  const tokens = await t.services.sessions.create({ userId, orgId, userAgent: "seed", ip: "127.0.0.1" });
  return {
    userId,
    orgId,
    email,
    password,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    sessionId: tokens.sessionId,
    auth: { authorization: `Bearer ${tokens.accessToken}` },
  };
}

export async function membershipId(t: TestApp, m: { orgId: string; userId: string }): Promise<string> {
  const [row] = await t.platform.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
  if (!row) throw new Error(`no membership of ${m.userId} in ${m.orgId}`);
  return row.id;
}

/**
 * Changes a member's role the way an admin of the organization does (PATCH …/members/{id}, a second
 * admin seeded for it), so the change goes through the same path as in production, including the
 * invalidation of the auth middleware's principal cache.
 */
export async function changeRoleAsAdmin(t: TestApp, m: { orgId: string; userId: string }, role: Role) {
  const admin = await seedMember(t, "admin", { orgId: m.orgId });
  const res = await t.app.request(`/api/v1/orgs/${m.orgId}/members/${await membershipId(t, m)}`, {
    method: "PATCH",
    headers: { ...admin.auth, "content-type": "application/json" },
    body: JSON.stringify({ role }),
  });
  if (res.status !== 200) throw new Error(`role change: ${res.status} ${await res.text()}`);
}

/** Removes a member the way an admin does (DELETE …/members/{id}). */
export async function removeAsAdmin(t: TestApp, m: { orgId: string; userId: string }) {
  const admin = await seedMember(t, "admin", { orgId: m.orgId });
  const res = await t.app.request(`/api/v1/orgs/${m.orgId}/members/${await membershipId(t, m)}`, {
    method: "DELETE",
    headers: admin.auth,
  });
  if (res.status !== 204) throw new Error(`member removal: ${res.status} ${await res.text()}`);
}
