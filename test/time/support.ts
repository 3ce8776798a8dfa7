import { and, eq } from "drizzle-orm";
import { memberships, orgSettings } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";

/** Organization A (admin, manager, member, viewer) and organization B (its admin). */
export interface Team {
  t: TestApp;
  admin: SeededMember;
  manager: SeededMember;
  member: SeededMember;
  viewer: SeededMember;
  other: SeededMember;
}

export async function team(clockStart = "2026-03-02T09:00:00.000Z"): Promise<Team> {
  // A generous API budget: these suites make many calls per user within one (manual) minute.
  const t = await createTestApp({ RATE_LIMIT_API: "100000/1m" });
  t.clock.set(clockStart);
  const admin = await seedMember(t, "admin");
  const seed = (role: "manager" | "member" | "viewer") => seedMember(t, role, { orgId: admin.orgId });
  return {
    t,
    admin,
    manager: await seed("manager"),
    member: await seed("member"),
    viewer: await seed("viewer"),
    other: await seedMember(t, "admin"),
  };
}

export type Json = Record<string, unknown> & { code?: string };

/** One API call as `who` (null: anonymous); the parsed body alongside the status. */
export async function call(
  t: TestApp,
  method: string,
  url: string,
  who: SeededMember | { auth: Record<string, string> } | null,
  body?: unknown,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = who ? { ...who.auth } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await t.app.request(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

/** Like `call`, but fails the test with the response unless the status is `expected`. */
export async function ok(
  t: TestApp,
  expected: number,
  method: string,
  url: string,
  who: SeededMember | { auth: Record<string, string> } | null,
  body?: unknown,
): Promise<Json> {
  const r = await call(t, method, url, who, body);
  if (r.status !== expected) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function memberIdOf(t: TestApp, m: SeededMember): Promise<string> {
  const [row] = await t.platform.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
  if (!row) throw new Error("no membership");
  return row.id;
}

/** Writes org settings straight to the database (the settings API has its own tests). */
export async function setSettings(
  t: TestApp,
  orgId: string,
  values: Partial<typeof orgSettings.$inferInsert>,
) {
  await t.platform.db
    .insert(orgSettings)
    .values({ orgId, updatedAt: t.clock.now(), ...values })
    .onConflictDoUpdate({ target: orgSettings.orgId, set: values });
}

/** A fresh session for `m` (access tokens live 15 minutes; tests move the clock further). */
export async function reauth(t: TestApp, m: SeededMember): Promise<void> {
  const s = await t.services.sessions.create({
    userId: m.userId,
    orgId: m.orgId,
    userAgent: "test",
    ip: "127.0.0.1",
  });
  m.auth = { authorization: `Bearer ${s.accessToken}` };
}
