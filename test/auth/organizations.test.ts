import { afterAll, expect, test } from "bun:test";
import { auditLog, memberships, organizations } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { createTestApp } from "../support/app";
import { seedMember } from "../support/identity";

const t = await createTestApp();
afterAll(() => t.close());
const json = { "content-type": "application/json" };

async function secondOrg(userId: string, role: "member" | "viewer") {
  const now = t.clock.now();
  const orgId = newId("org", now);
  await t.platform.db
    .insert(organizations)
    .values({ id: orgId, name: "Second Org", createdAt: now, updatedAt: now });
  t.clock.advance(1000);
  await t.platform.db.insert(memberships).values({
    id: newId("membership", now),
    orgId,
    userId,
    role,
    createdAt: t.clock.now(),
    updatedAt: t.clock.now(),
  });
  return orgId;
}

test("a user in two organizations lists them and switches the session between them", async () => {
  const a = await seedMember(t, "admin");
  const orgB = await secondOrg(a.userId, "member");

  const list = await t.app.request("/api/v1/me/organizations", { headers: a.auth });
  expect(list.status).toBe(200);
  expect((await list.json()).data).toEqual([
    { id: a.orgId, name: expect.any(String), role: "admin" },
    { id: orgB, name: "Second Org", role: "member" },
  ]);

  const res = await t.app.request("/api/v1/auth/sessions/current/organization", {
    method: "POST",
    headers: { ...a.auth, ...json },
    body: JSON.stringify({ organizationId: orgB }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body.organization).toEqual({ id: orgB, name: "Second Org", role: "member" });
  const me = await (
    await t.app.request("/api/v1/me", { headers: { authorization: `Bearer ${body.accessToken}` } })
  ).json();
  expect(me.organization.id).toBe(orgB);
  expect(me.role).toBe("member");

  // The session itself moved: the old access token now acts in B too (role read per request),
  // and a refresh mints tokens for B.
  const old = await (await t.app.request("/api/v1/me", { headers: a.auth })).json();
  expect(old.role).toBe("member");
  const refreshed = await t.app.request("/api/v1/auth/refresh", {
    method: "POST",
    headers: json,
    body: JSON.stringify({ refreshToken: a.refreshToken }),
  });
  const pair = await refreshed.json();
  const meAfter = await (
    await t.app.request("/api/v1/me", { headers: { authorization: `Bearer ${pair.accessToken}` } })
  ).json();
  expect(meAfter.organization.id).toBe(orgB);

  const rows = await t.platform.db.select().from(auditLog);
  expect(rows.some((r) => r.action === "session.organization_switched" && r.orgId === orgB)).toBe(true);
});

test("switching to an organization you are not in is 404; tokens other than sessions cannot switch", async () => {
  const a = await seedMember(t, "admin");
  const stranger = await seedMember(t, "admin");
  const res = await t.app.request("/api/v1/auth/sessions/current/organization", {
    method: "POST",
    headers: { ...a.auth, ...json },
    body: JSON.stringify({ organizationId: stranger.orgId }),
  });
  expect(res.status).toBe(404);
  const me = await (await t.app.request("/api/v1/me", { headers: a.auth })).json();
  expect(me.organization.id).toBe(a.orgId);
  const bad = await t.app.request("/api/v1/auth/sessions/current/organization", {
    method: "POST",
    headers: { ...a.auth, ...json },
    body: JSON.stringify({ organizationId: stranger.orgId, role: "admin" }),
  });
  expect(bad.status).toBe(422);
});
