import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { apiTokens, auditLog } from "../../src/db/schema";
import { PAT_SCOPES } from "../../src/modules/tokens/tokens.service";
import type { TestApp } from "../support/app";
import { changeRoleAsAdmin, membershipId, removeAsAdmin, seedMember } from "../support/identity";
import { bearer, createAgent, createPat, createTokensApp, json } from "./support";

let t: TestApp;
beforeEach(async () => {
  t = await createTokensApp();
});
afterEach(() => t.close());

const get = (path: string, headers: Record<string, string>) => t.app.request(path, { headers });
const del = (path: string, headers: Record<string, string>) =>
  t.app.request(path, { method: "DELETE", headers });
const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;

describe("enrolling an agent", () => {
  test("201 with a `tta_` token shown once, scoped to ingest only, bound to the caller's membership", async () => {
    const m = await seedMember(t, "member");
    const res = await t.app.request("/api/v1/agents", json({ name: " Ana's MacBook " }, m.auth));
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      id: expect.stringMatching(/^tok_/),
      name: "Ana's MacBook",
      token: expect.stringMatching(/^tta_[A-Za-z0-9_-]{43}$/),
      prefix: (body.token as string).slice(0, 12),
      scopes: ["ingest"],
      userId: m.userId,
      memberId: await membershipId(t, m),
      createdAt: t.clock.now().toISOString(),
      lastUsedAt: null,
    });
    const [row] = await t.platform.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, body.id as string));
    expect(row).toMatchObject({ kind: "agent", userId: m.userId, orgId: m.orgId, scopes: '["ingest"]' });
    expect(row?.tokenHash).toBe(
      createHash("sha256")
        .update(body.token as string)
        .digest("hex"),
    );
    const audit = await t.platform.db.select().from(auditLog).where(eq(auditLog.action, "agent.created"));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      orgId: m.orgId,
      actorId: m.userId,
      targetType: "agent",
      targetId: body.id,
    });
    expect(JSON.stringify(audit[0])).not.toContain(body.token as string);
    // Not shown again.
    const list = await (await get("/api/v1/agents", m.auth)).text();
    expect(list).not.toContain(body.token as string);
    expect(list).toContain(body.id as string);
  });

  test("needs own:write and a session: viewers and tokens are refused; bodies are strict", async () => {
    const viewer = await seedMember(t, "viewer");
    expect((await t.app.request("/api/v1/agents", json({ name: "x" }, viewer.auth))).status).toBe(403);
    const admin = await seedMember(t, "admin");
    const pat = await createPat(t, admin, { scopes: [...PAT_SCOPES] });
    const viaPat = await t.app.request("/api/v1/agents", json({ name: "x" }, bearer(pat.token)));
    expect(viaPat.status).toBe(403);
    expect(await codeOf(viaPat)).toBe("SESSION_REQUIRED");
    for (const extra of [{ userId: viewer.userId }, { orgId: viewer.orgId }, { scopes: ["members:write"] }]) {
      const res = await t.app.request("/api/v1/agents", json({ name: "x", ...extra }, admin.auth));
      expect(res.status).toBe(422);
    }
    expect((await t.app.request("/api/v1/agents", json({ name: "" }, admin.auth))).status).toBe(422);
    expect((await t.app.request("/api/v1/agents", json({ name: "x" }))).status).toBe(401);
    expect(await t.platform.db.select().from(apiTokens).where(eq(apiTokens.kind, "agent"))).toHaveLength(0);
  });

  test("one token per device: the same device name again is 409 until the old one is revoked", async () => {
    const m = await seedMember(t, "member");
    const first = await createAgent(t, m, "Desk");
    const again = await t.app.request("/api/v1/agents", json({ name: "Desk" }, m.auth));
    expect(again.status).toBe(409);
    expect(await codeOf(again)).toBe("AGENT_EXISTS");
    expect((await del(`/api/v1/agents/${first.id}`, m.auth)).status).toBe(204);
    await createAgent(t, m, "Desk");
  });
});

describe("an agent token", () => {
  test("GET /api/v1/agents/me names the agent, its member and organization", async () => {
    const m = await seedMember(t, "member");
    const agent = await createAgent(t, m);
    const res = await get("/api/v1/agents/me", bearer(agent.token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ agentId: agent.id, userId: m.userId, orgId: m.orgId });
  });

  test("is refused (403) on every non-ingest route, whatever its owner's role", async () => {
    const admin = await seedMember(t, "admin");
    const agent = await createAgent(t, admin);
    const calls: [string, string, unknown?][] = [
      ["GET", "/api/v1/_probe/members"],
      ["GET", "/api/v1/_probe/reports"],
      ["POST", "/api/v1/_probe/members", {}],
      ["GET", "/api/v1/tokens"],
      ["POST", "/api/v1/tokens", { name: "x", scopes: ["own:read"] }],
      ["GET", "/api/v1/agents"],
      ["POST", "/api/v1/agents", { name: "y" }],
      ["DELETE", `/api/v1/agents/${agent.id}`],
      ["GET", "/api/v1/audit"],
      ["GET", "/api/v1/audit/verify"],
      ["GET", `/api/v1/orgs/${admin.orgId}/members`],
    ];
    for (const [method, path, body] of calls) {
      const res = await t.app.request(path, {
        method,
        headers: { ...bearer(agent.token), ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      // A route another engineer has not built yet answers 404; any route that exists must say 403.
      if (res.status === 404 && path.includes("/orgs/")) continue;
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // And it still works where it may.
    expect((await get("/api/v1/agents/me", bearer(agent.token))).status).toBe(200);
  });

  test("/agents/me refuses sessions and personal access tokens", async () => {
    const m = await seedMember(t, "admin");
    const pat = await createPat(t, m, { scopes: [...PAT_SCOPES] });
    expect((await get("/api/v1/agents/me", m.auth)).status).toBe(403);
    expect((await get("/api/v1/agents/me", bearer(pat.token))).status).toBe(403);
    expect((await get("/api/v1/agents/me", {})).status).toBe(401);
  });

  test("dies with its member's membership (401 on the next request)", async () => {
    const m = await seedMember(t, "member");
    const agent = await createAgent(t, m);
    expect((await get("/api/v1/agents/me", bearer(agent.token))).status).toBe(200);
    await removeAsAdmin(t, m);
    expect((await get("/api/v1/agents/me", bearer(agent.token))).status).toBe(401);
  });
});

describe("listing agents", () => {
  test("members see their own; managers may ask for one member or the whole organization", async () => {
    const manager = await seedMember(t, "manager");
    const ana = await seedMember(t, "member", { orgId: manager.orgId });
    const bo = await seedMember(t, "member", { orgId: manager.orgId });
    const stranger = await seedMember(t, "admin");
    const a1 = await createAgent(t, ana, "A1");
    t.clock.advance(1000);
    const b1 = await createAgent(t, bo, "B1");
    t.clock.advance(1000);
    const m1 = await createAgent(t, manager, "M1");
    await createAgent(t, stranger, "S1");
    const ids = async (path: string, who: Record<string, string>) => {
      const res = await get(path, who);
      expect(res.status, path).toBe(200);
      return ((await res.json()) as { data: { id: string }[] }).data.map((d) => d.id);
    };
    expect(await ids("/api/v1/agents", ana.auth)).toEqual([a1.id]);
    expect(await ids("/api/v1/agents", manager.auth)).toEqual([m1.id]);
    expect(await ids("/api/v1/agents?all=true", manager.auth)).toEqual([m1.id, b1.id, a1.id]);
    const anaMember = await membershipId(t, ana);
    expect(await ids(`/api/v1/agents?memberId=${anaMember}`, manager.auth)).toEqual([a1.id]);
    expect(await ids(`/api/v1/agents?memberId=${anaMember}`, ana.auth)).toEqual([a1.id]);
    const listed = (await (await get("/api/v1/agents", ana.auth)).json()) as {
      data: Record<string, unknown>[];
    };
    expect(listed.data[0]).toEqual({
      id: a1.id,
      name: "A1",
      prefix: a1.prefix,
      userId: ana.userId,
      memberId: anaMember,
      createdAt: expect.any(String),
      lastUsedAt: null,
    });
    // Members cannot look at others'; another organization's member id is 404.
    expect((await get("/api/v1/agents?all=true", ana.auth)).status).toBe(403);
    expect((await get(`/api/v1/agents?memberId=${await membershipId(t, bo)}`, ana.auth)).status).toBe(403);
    expect(
      (await get(`/api/v1/agents?memberId=${await membershipId(t, stranger)}`, manager.auth)).status,
    ).toBe(404);
    // Pagination.
    const p1 = (await (await get("/api/v1/agents?all=true&limit=2", manager.auth)).json()) as {
      data: { id: string }[];
      nextCursor: string;
    };
    expect(p1.data.map((d) => d.id)).toEqual([m1.id, b1.id]);
    expect(await ids(`/api/v1/agents?all=true&limit=2&cursor=${p1.nextCursor}`, manager.auth)).toEqual([
      a1.id,
    ]);
  });

  test("a personal access token needs own:read to list, data:read to list others'", async () => {
    const manager = await seedMember(t, "manager");
    await createAgent(t, manager);
    const own = await createPat(t, manager, { scopes: ["own:read"] });
    const none = await createPat(t, manager, { scopes: ["reports:read"] });
    expect((await get("/api/v1/agents", bearer(own.token))).status).toBe(200);
    expect((await get("/api/v1/agents?all=true", bearer(own.token))).status).toBe(403);
    const res = await get("/api/v1/agents", bearer(none.token));
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe("INSUFFICIENT_SCOPE");
    const both = await createPat(t, manager, { scopes: ["own:read", "data:read"] });
    expect((await get("/api/v1/agents?all=true", bearer(both.token))).status).toBe(200);
  });
});

describe("revoking agents", () => {
  test("by its owner and by a manager of the same organization, audited; not by another member", async () => {
    const manager = await seedMember(t, "manager");
    const ana = await seedMember(t, "member", { orgId: manager.orgId });
    const bo = await seedMember(t, "member", { orgId: manager.orgId });
    const first = await createAgent(t, ana, "one");
    const second = await createAgent(t, ana, "two");

    const byPeer = await del(`/api/v1/agents/${first.id}`, bo.auth);
    expect(byPeer.status).toBe(404);
    expect(await codeOf(byPeer)).toBe("AGENT_NOT_FOUND");
    expect((await get("/api/v1/agents/me", bearer(first.token))).status).toBe(200);

    expect((await del(`/api/v1/agents/${first.id}`, ana.auth)).status).toBe(204);
    expect((await get("/api/v1/agents/me", bearer(first.token))).status).toBe(401);
    expect((await del(`/api/v1/agents/${second.id}`, manager.auth)).status).toBe(204);
    expect((await get("/api/v1/agents/me", bearer(second.token))).status).toBe(401);

    const rows = await t.platform.db.select().from(auditLog).where(eq(auditLog.action, "agent.revoked"));
    expect(rows.map((r) => [r.targetId, r.actorId, JSON.parse(r.metadata).by])).toEqual([
      [first.id, ana.userId, "owner"],
      [second.id, manager.userId, "manager"],
    ]);
  });

  test("another organization's agent is 404, even for its admin; the agent keeps working", async () => {
    const ana = await seedMember(t, "member");
    const otherAdmin = await seedMember(t, "admin");
    const agent = await createAgent(t, ana);
    expect((await del(`/api/v1/agents/${agent.id}`, otherAdmin.auth)).status).toBe(404);
    expect((await del("/api/v1/agents/tok_doesnotexist", ana.auth)).status).toBe(404);
    expect((await get("/api/v1/agents/me", bearer(agent.token))).status).toBe(200);
    const [row] = await t.platform.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.id, agent.id), eq(apiTokens.kind, "agent")));
    expect(row?.revokedAt).toBeNull();
  });

  test("a member demoted to viewer can still revoke their own agent; its token stops working at once", async () => {
    const m = await seedMember(t, "member");
    const agent = await createAgent(t, m);
    await changeRoleAsAdmin(t, m, "viewer");
    expect((await del(`/api/v1/agents/${agent.id}`, m.auth)).status).toBe(204);
    expect((await get("/api/v1/agents/me", bearer(agent.token))).status).toBe(401);
  });
});
