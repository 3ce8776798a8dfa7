import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { apiTokens, memberships, sessions } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { changeMemberRole, removeMember } from "../../src/modules/orgs/orgs.service";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import { auditRows, call, seedApiToken } from "./support";

let t: TestApp;
let admin: SeededMember;
let orgId: string;

beforeEach(async () => {
  t = await createTestApp();
  admin = await seedMember(t, "admin");
  orgId = admin.orgId;
});
afterEach(() => t.close());

const membershipOf = async (m: SeededMember) => {
  const [row] = await t.platform.db
    .select()
    .from(memberships)
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
  return row;
};

describe("organization", () => {
  test("a member reads their organization; an admin renames it (audited); a manager cannot", async () => {
    const viewer = await seedMember(t, "viewer", { orgId });
    const manager = await seedMember(t, "manager", { orgId });
    const res = await call(t, "GET", `/api/v1/orgs/${orgId}`, viewer.auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: orgId, name: expect.any(String) });

    expect((await call(t, "PATCH", `/api/v1/orgs/${orgId}`, manager.auth, { name: "Nope" })).status).toBe(
      403,
    );
    const renamed = await call(t, "PATCH", `/api/v1/orgs/${orgId}`, admin.auth, { name: "  Acme  Studio " });
    expect(renamed.status).toBe(200);
    expect((await renamed.json()).name).toBe("Acme  Studio");
    const [row] = await auditRows(t, orgId, "org.updated");
    expect(row).toMatchObject({ actorType: "user", actorId: admin.userId, targetId: orgId });
    expect(row?.metadata).toMatchObject({ changes: { name: { to: "Acme  Studio" } } });
  });

  test("bad names and unknown fields are 422", async () => {
    for (const body of [{ name: "" }, { name: "a\nb" }, { name: "ok", id: "org_x" }, {}]) {
      const res = await call(t, "PATCH", `/api/v1/orgs/${orgId}`, admin.auth, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
  });

  test("another organization's id is 404, even for its admin's own role", async () => {
    const other = await seedMember(t, "admin");
    expect((await call(t, "GET", `/api/v1/orgs/${other.orgId}`, admin.auth)).status).toBe(404);
    expect((await call(t, "PATCH", `/api/v1/orgs/${other.orgId}`, admin.auth, { name: "x" })).status).toBe(
      404,
    );
    expect((await call(t, "GET", "/api/v1/orgs/org_does_not_exist", admin.auth)).status).toBe(404);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}`)).status).toBe(401);
  });
});

describe("member list", () => {
  test("paginates oldest first with nextCursor and a Link header; emails only for admins/managers", async () => {
    const others: SeededMember[] = [];
    for (const role of ["manager", "member", "member", "viewer"] as const) {
      t.clock.advance(1000);
      others.push(await seedMember(t, role, { orgId }));
    }
    await seedMember(t, "admin"); // another organization: never listed
    const seen: Record<string, unknown>[] = [];
    let url: string | null = `/api/v1/orgs/${orgId}/members?limit=2`;
    let pages = 0;
    while (url) {
      const res = await call(t, "GET", url, admin.auth);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Record<string, unknown>[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data);
      pages++;
      if (body.nextCursor) {
        expect(res.headers.get("link")).toContain('rel="next"');
        url = `/api/v1/orgs/${orgId}/members?limit=2&cursor=${encodeURIComponent(body.nextCursor)}`;
      } else url = null;
    }
    expect(pages).toBe(3);
    expect(seen.map((m) => m.userId)).toEqual([admin.userId, ...others.map((o) => o.userId)]);
    expect(seen[0]).toMatchObject({ role: "admin", email: admin.email, name: expect.any(String) });
    expect(seen[0]!.id).toMatch(/^mem_/);

    const asViewer = await call(t, "GET", `/api/v1/orgs/${orgId}/members`, others[3]!.auth);
    expect(asViewer.status).toBe(200);
    const viewerBody = (await asViewer.json()) as { data: Record<string, unknown>[] };
    expect(viewerBody.data).toHaveLength(5);
    for (const m of viewerBody.data) {
      expect(m.email).toBe(m.userId === others[3]!.userId ? others[3]!.email : undefined);
      expect(m.name).toEqual(expect.any(String));
      expect(m.role).toEqual(expect.any(String));
    }
    const asManager = (await (
      await call(t, "GET", `/api/v1/orgs/${orgId}/members`, others[0]!.auth)
    ).json()) as {
      data: Record<string, unknown>[];
    };
    expect(asManager.data.every((m) => typeof m.email === "string")).toBe(true);
  });

  test("filters by role; a forged cursor is 422; limit over 100 is 422", async () => {
    await seedMember(t, "viewer", { orgId });
    const res = await call(t, "GET", `/api/v1/orgs/${orgId}/members?role=viewer`, admin.auth);
    expect(((await res.json()) as { data: { role: string }[] }).data.map((m) => m.role)).toEqual(["viewer"]);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/members?cursor=bm9wZQ`, admin.auth)).status).toBe(
      422,
    );
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/members?limit=101`, admin.auth)).status).toBe(422);
  });

  test("GET one member; another organization's member id is 404", async () => {
    const m = await seedMember(t, "member", { orgId });
    const mine = await membershipOf(m);
    const res = await call(t, "GET", `/api/v1/orgs/${orgId}/members/${mine!.id}`, m.auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: mine!.id, userId: m.userId, role: "member" });
    const stranger = await seedMember(t, "member");
    const theirs = await membershipOf(stranger);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/members/${theirs!.id}`, admin.auth)).status).toBe(
      404,
    );
  });
});

describe("role changes", () => {
  test("an admin changes a role: audited with old and new role, member.updated emitted", async () => {
    const events: DomainEvent[] = [];
    t.services.events.on("member.updated", (e) => {
      events.push(e);
    });
    const m = await seedMember(t, "member", { orgId });
    const { id } = (await membershipOf(m))!;
    const res = await call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${id}`, admin.auth, {
      role: "manager",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, role: "manager" });
    expect((await membershipOf(m))!.role).toBe("manager");
    const [row] = await auditRows(t, orgId, "member.role_changed");
    expect(row).toMatchObject({ actorId: admin.userId, targetType: "member", targetId: id });
    expect(row!.metadata).toEqual({ userId: m.userId, from: "member", to: "manager" });
    await t.platform.drain();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "member.updated",
      orgId,
      payload: { membershipId: id, userId: m.userId, role: "manager", previousRole: "member" },
    });
  });

  test("a manager changes members and viewers but cannot grant admin or touch an admin", async () => {
    const manager = await seedMember(t, "manager", { orgId });
    const m = await seedMember(t, "member", { orgId });
    const memberId = (await membershipOf(m))!.id;
    const adminId = (await membershipOf(admin))!.id;
    const url = (id: string) => `/api/v1/orgs/${orgId}/members/${id}`;
    expect((await call(t, "PATCH", url(memberId), manager.auth, { role: "viewer" })).status).toBe(200);
    expect((await call(t, "PATCH", url(memberId), manager.auth, { role: "admin" })).status).toBe(403);
    expect((await call(t, "PATCH", url(adminId), manager.auth, { role: "member" })).status).toBe(403);
    expect((await membershipOf(admin))!.role).toBe("admin");
    expect((await call(t, "PATCH", url(memberId), m.auth, { role: "manager" })).status).toBe(403);
    // No mass assignment through the body.
    expect(
      (await call(t, "PATCH", url(memberId), admin.auth, { role: "viewer", userId: "usr_x" })).status,
    ).toBe(422);
    expect((await call(t, "PATCH", url(memberId), admin.auth, { role: "owner" })).status).toBe(422);
  });

  test("nobody demotes the last admin (409 LAST_ADMIN); with two admins one may go", async () => {
    const adminId = (await membershipOf(admin))!.id;
    const res = await call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${adminId}`, admin.auth, {
      role: "member",
    });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("LAST_ADMIN");

    const second = await seedMember(t, "admin", { orgId });
    const secondId = (await membershipOf(second))!.id;
    expect(
      (await call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${secondId}`, admin.auth, { role: "member" }))
        .status,
    ).toBe(200);
    const again = await call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${adminId}`, admin.auth, {
      role: "viewer",
    });
    expect(again.status).toBe(409);
    expect(await auditRows(t, orgId, "member.role_changed")).toHaveLength(1);
  });

  test("two admins demoting each other at the same time leave exactly one admin", async () => {
    const second = await seedMember(t, "admin", { orgId });
    const [a, b] = [(await membershipOf(admin))!.id, (await membershipOf(second))!.id];
    const results = await Promise.all([
      call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${b}`, admin.auth, { role: "member" }),
      call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${a}`, second.auth, { role: "member" }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toContain(200);
    const admins = await t.platform.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "admin")));
    expect(admins).toHaveLength(1);
  });

  test("the last-admin rule holds inside the write: concurrent demotions and removals past the pre-check", async () => {
    // Straight to the service, so both calls pass the read-side check before either writes.
    const deps = { ...t.platform, ...t.services };
    const actor = { actorType: "user" as const, actorId: admin.userId };
    const caller = { userId: admin.userId, role: "admin" as const };
    const second = await seedMember(t, "admin", { orgId });
    const ids = [(await membershipOf(admin))!.id, (await membershipOf(second))!.id];
    const outcomes = await Promise.allSettled(
      ids.map((memberId) => changeMemberRole(deps, { orgId, memberId, role: "member", caller, actor })),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason.code).toBe(
      "LAST_ADMIN",
    );

    const third = await seedMember(t, "admin", { orgId });
    const admins = [ids.find((_, i) => outcomes[i]!.status === "rejected")!, (await membershipOf(third))!.id];
    const removals = await Promise.allSettled(
      admins.map((memberId) => removeMember(deps, { orgId, memberId, caller, actor })),
    );
    expect(removals.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
    const left = await t.platform.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "admin")));
    expect(left).toHaveLength(1);
  });

  test("a demoted admin loses admin rights on the next request with the same token", async () => {
    const second = await seedMember(t, "admin", { orgId });
    expect((await call(t, "PATCH", `/api/v1/orgs/${orgId}`, second.auth, { name: "Mine" })).status).toBe(200);
    const id = (await membershipOf(second))!.id;
    await call(t, "PATCH", `/api/v1/orgs/${orgId}/members/${id}`, admin.auth, { role: "viewer" });
    expect((await call(t, "PATCH", `/api/v1/orgs/${orgId}`, second.auth, { name: "Again" })).status).toBe(
      403,
    );
  });
});

describe("removing a member", () => {
  test("revokes their sessions and API/agent tokens for this organization only; audited; event", async () => {
    const events: DomainEvent[] = [];
    t.services.events.on("member.removed", (e) => {
      events.push(e);
    });
    const m = await seedMember(t, "member", { orgId });
    const pat = await seedApiToken(t, m);
    const agent = await seedApiToken(t, m, "agent");
    // The same user also has a session in another organization, which must survive.
    const elsewhere = await seedMember(t, "admin");
    await t.platform.db.insert(memberships).values({
      id: `mem_${crypto.randomUUID()}`,
      orgId: elsewhere.orgId,
      userId: m.userId,
      role: "member",
      createdAt: t.clock.now(),
      updatedAt: t.clock.now(),
    });
    const otherSession = await t.services.sessions.create({ userId: m.userId, orgId: elsewhere.orgId });
    const otherPat = await seedApiToken(t, { userId: m.userId, orgId: elsewhere.orgId });
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/members`, pat.auth)).status).toBe(200);

    const id = (await membershipOf(m))!.id;
    const res = await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/${id}`, admin.auth);
    expect(res.status).toBe(204);
    expect(await membershipOf(m)).toBeUndefined();

    expect((await call(t, "GET", `/api/v1/orgs/${orgId}`, m.auth)).status).toBe(401);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/members`, pat.auth)).status).toBe(401);
    const tokens = await t.platform.db.select().from(apiTokens).where(eq(apiTokens.userId, m.userId));
    const revoked = Object.fromEntries(tokens.map((x) => [x.id, x.revokedAt !== null]));
    expect(revoked).toEqual({ [pat.id]: true, [agent.id]: true, [otherPat.id]: false });
    const [s] = await t.platform.db.select().from(sessions).where(eq(sessions.id, m.sessionId));
    expect(s).toMatchObject({ revokedReason: "membership_removed" });
    const otherAuth = { authorization: `Bearer ${otherSession.accessToken}` };
    expect((await call(t, "GET", `/api/v1/orgs/${elsewhere.orgId}`, otherAuth)).status).toBe(200);

    const [row] = await auditRows(t, orgId, "member.removed");
    expect(row).toMatchObject({ actorId: admin.userId, targetId: id });
    expect(row!.metadata).toMatchObject({
      userId: m.userId,
      role: "member",
      revokedSessions: 1,
      revokedTokens: 2,
    });
    await t.platform.drain();
    expect(events.map((e) => e.payload)).toEqual([{ membershipId: id, userId: m.userId, role: "member" }]);
  });

  test("only admins remove; the last admin cannot be removed; other orgs' members are 404", async () => {
    const manager = await seedMember(t, "manager", { orgId });
    const m = await seedMember(t, "member", { orgId });
    const memberId = (await membershipOf(m))!.id;
    const adminId = (await membershipOf(admin))!.id;
    expect((await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/${memberId}`, manager.auth)).status).toBe(
      403,
    );
    const last = await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/${adminId}`, admin.auth);
    expect(last.status).toBe(409);
    expect((await last.json()).code).toBe("LAST_ADMIN");
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}`, admin.auth)).status).toBe(200);

    const stranger = await seedMember(t, "member");
    const theirs = (await membershipOf(stranger))!.id;
    expect((await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/${theirs}`, admin.auth)).status).toBe(404);
    expect(await membershipOf(stranger)).toBeDefined();
    expect((await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/mem_nope`, admin.auth)).status).toBe(404);
  });

  test("an admin may leave while another admin remains", async () => {
    const second = await seedMember(t, "admin", { orgId });
    const id = (await membershipOf(second))!.id;
    expect((await call(t, "DELETE", `/api/v1/orgs/${orgId}/members/${id}`, second.auth)).status).toBe(204);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}`, second.auth)).status).toBe(401);
  });
});
