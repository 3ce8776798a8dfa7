import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { auditLog, memberships } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { createTestApp, type TestApp } from "../support/app";
import { membershipId, type SeededMember, seedMember } from "../support/identity";

let t: TestApp;
let admin: SeededMember;
let manager: SeededMember;
let member: SeededMember;
let other: SeededMember;

beforeAll(async () => {
  t = await createTestApp();
  admin = await seedMember(t, "admin");
  manager = await seedMember(t, "manager", { orgId: admin.orgId });
  member = await seedMember(t, "member", { orgId: admin.orgId });
  other = await seedMember(t, "member", { orgId: admin.orgId });
});
afterAll(() => t?.close());

const patch = (who: SeededMember, id: string, body: unknown) =>
  t.app.request(`/api/v1/members/${id}/profile`, {
    method: "PATCH",
    headers: { ...who.auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("member tracking profile", () => {
  test("GET me and by id: display name, time zone, presence", async () => {
    const res = await t.app.request("/api/v1/members/me/profile", { headers: member.auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      memberId: await membershipId(t, member),
      userId: member.userId,
      displayName: null,
      timezone: "UTC",
      role: "member",
      status: "offline",
      lastSeenAt: null,
    });
    const byId = await t.app.request(`/api/v1/members/${await membershipId(t, other)}/profile`, {
      headers: member.auth,
    });
    expect(byId.status).toBe(200);
    const missing = await t.app.request("/api/v1/members/mem_nope/profile", { headers: member.auth });
    expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([
      404,
      "MEMBER_NOT_FOUND",
    ]);
  });

  test("a member edits their own profile; audited and announced as member.profile_updated", async () => {
    const seen: DomainEvent[] = [];
    const off = t.services.events.on("member.profile_updated", (e) => void seen.push(e));
    const res = await patch(member, "me", { displayName: "  Ana Lima ", timezone: "Europe/Berlin" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      displayName: "Ana Lima",
      name: "Ana Lima",
      timezone: "Europe/Berlin",
    });
    const id = await membershipId(t, member);
    const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.id, id));
    expect([row?.displayName, row?.timezone]).toEqual(["Ana Lima", "Europe/Berlin"]);
    const audits = await t.platform.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "member.profile_updated"), eq(auditLog.targetId, id)));
    expect(audits).toHaveLength(1);
    await t.platform.drain();
    off();
    expect(seen.map((e) => e.payload)).toEqual([
      { membershipId: id, userId: member.userId, changes: ["displayName", "timezone"] },
    ]);
    // Unchanged values: no write, no audit.
    expect((await patch(member, "me", { timezone: "Europe/Berlin" })).status).toBe(200);
    expect((await patch(member, "me", { displayName: null })).status).toBe(200);
    const [cleared] = await t.platform.db.select().from(memberships).where(eq(memberships.id, id));
    expect(cleared?.displayName).toBeNull();
  });

  test("managers and admins edit others; a member cannot", async () => {
    const target = await membershipId(t, other);
    expect((await patch(member, target, { timezone: "Asia/Tokyo" })).status).toBe(403);
    expect((await patch(manager, target, { timezone: "Asia/Tokyo" })).status).toBe(200);
    expect((await patch(admin, target, { displayName: "Other" })).status).toBe(200);
    const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.id, target));
    expect([row?.timezone, row?.displayName]).toEqual(["Asia/Tokyo", "Other"]);
  });

  test("invalid input is 422 naming the field", async () => {
    const paths = async (body: unknown) => {
      const res = await patch(member, "me", body);
      expect(res.status).toBe(422);
      return ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
    };
    expect(await paths({ timezone: "Europe/Atlantis" })).toEqual(["timezone"]);
    expect(await paths({ displayName: "x".repeat(101) })).toEqual(["displayName"]);
    expect(await paths({ displayName: "" })).toEqual(["displayName"]);
    expect(await paths({ displayName: "a\nb" })).toEqual(["displayName"]);
    expect(await paths({ role: "admin" })).toEqual(["role"]);
  });
});
