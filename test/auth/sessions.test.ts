import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema";
import { requirePermission } from "../../src/modules/auth/auth.middleware";
import { createTestApp, type TestApp } from "../support/app";
import { changeRoleAsAdmin } from "../support/identity";
import { auditRows, bearer, DAY, insertPat, login, MINUTE, me, post, refresh, register } from "./helpers";

interface SessionView {
  id: string;
  current: boolean;
  userAgent: string | null;
  ip: string | null;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
}

async function listSessions(t: TestApp, auth: Record<string, string>) {
  const res = await t.app.request("/api/v1/auth/sessions", { headers: auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: SessionView[] }).data;
}

describe("sessions", () => {
  let t: TestApp;
  beforeEach(async () => {
    // The session-limit test logs in 11 times; the login rate limit has its own suite.
    t = await createTestApp({ RATE_LIMIT_LOGIN: "1000/15m" });
    // An admin-only (admin, manager) route for the demotion test, mounted before the first request.
    t.app.get("/api/v1/__test/members-write", requirePermission("members:write"), (c) =>
      c.json({ ok: true }),
    );
  });
  afterEach(() => t.close());

  test("list shows only your own sessions, with device info and `current`", async () => {
    const alice = await register(t);
    const bob = await register(t);
    const a1 = await login(t, alice, { "user-agent": "Firefox/130" });
    const a2 = await login(t, alice, { "user-agent": "AgentApp/1.0" });
    const b1 = await login(t, bob);

    const list = await listSessions(t, a2.auth);
    expect(list.map((s) => s.id).sort()).toEqual([a1.sessionId, a2.sessionId].sort());
    expect(list.find((s) => s.current)?.id).toBe(a2.sessionId);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list.find((s) => s.id === a1.sessionId)?.userAgent).toBe("Firefox/130");
    expect(Object.keys(list[0]!).sort()).toEqual(
      ["createdAt", "current", "expiresAt", "id", "ip", "lastUsedAt", "userAgent"].sort(),
    );
    expect((await listSessions(t, b1.auth)).map((s) => s.id)).toEqual([b1.sessionId]);
  });

  test("revoke one: its access token is refused on the very next request; audited", async () => {
    const alice = await register(t);
    const a1 = await login(t, alice);
    const a2 = await login(t, alice);
    expect((await me(t, a1.accessToken)).status).toBe(200);

    const res = await t.app.request(`/api/v1/auth/sessions/${a1.sessionId}`, {
      method: "DELETE",
      headers: a2.auth,
    });
    expect(res.status).toBe(204);
    expect((await me(t, a1.accessToken)).status).toBe(401);
    expect((await refresh(t, a1.refreshToken)).status).toBe(401);
    expect((await me(t, a2.accessToken)).status).toBe(200);
    expect((await listSessions(t, a2.auth)).map((s) => s.id)).toEqual([a2.sessionId]);

    const audits = await auditRows(t, "session.revoked");
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      orgId: alice.orgId,
      actorType: "user",
      actorId: alice.userId,
      targetType: "session",
      targetId: a1.sessionId,
    });

    // Revoking it again, or an unknown id: 404.
    const again = await t.app.request(`/api/v1/auth/sessions/${a1.sessionId}`, {
      method: "DELETE",
      headers: a2.auth,
    });
    expect(again.status).toBe(404);
    const unknown = await t.app.request("/api/v1/auth/sessions/ses_nope", {
      method: "DELETE",
      headers: a2.auth,
    });
    expect(unknown.status).toBe(404);
  });

  test("another user's session id is 404 and stays alive", async () => {
    const alice = await register(t);
    const bob = await register(t);
    const a = await login(t, alice);
    const b = await login(t, bob);
    const res = await t.app.request(`/api/v1/auth/sessions/${b.sessionId}`, {
      method: "DELETE",
      headers: a.auth,
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("SESSION_NOT_FOUND");
    expect((await me(t, b.accessToken)).status).toBe(200);
  });

  test("revoke-others keeps only the current session", async () => {
    const alice = await register(t);
    const others = [await login(t, alice), await login(t, alice), await login(t, alice)];
    const current = await login(t, alice);
    const bob = await login(t, await register(t));

    const res = await t.app.request("/api/v1/auth/sessions/revoke-others", {
      method: "POST",
      headers: current.auth,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 3 });
    for (const o of others) {
      expect((await me(t, o.accessToken)).status).toBe(401);
      expect((await refresh(t, o.refreshToken)).status).toBe(401);
    }
    expect((await me(t, current.accessToken)).status).toBe(200);
    expect((await me(t, bob.accessToken)).status).toBe(200);
    expect((await listSessions(t, current.auth)).map((s) => s.id)).toEqual([current.sessionId]);
    const [audit] = await auditRows(t, "session.revoked_others");
    expect(JSON.parse(audit!.metadata)).toEqual({ revoked: 3 });
  });

  test("logout revokes the session server-side, clears the cookie and is audited", async () => {
    const alice = await register(t);
    const l = await login(t, alice);
    const res = await t.app.request("/api/v1/auth/logout", { method: "POST", headers: l.auth });
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^tt_refresh=;.*Max-Age=0.*Path=\/api\/v1\/auth/);
    expect((await me(t, l.accessToken)).status).toBe(401);
    expect((await refresh(t, l.refreshToken)).status).toBe(401);
    const [audit] = await auditRows(t, "auth.logout");
    expect(audit).toMatchObject({ actorId: alice.userId, targetId: l.sessionId, orgId: alice.orgId });
    // Without credentials: 401.
    expect((await t.app.request("/api/v1/auth/logout", { method: "POST" })).status).toBe(401);
  });

  test("the 11th login revokes the oldest session", async () => {
    const alice = await register(t);
    const logins = [];
    for (let i = 0; i < 11; i++) {
      logins.push(await login(t, alice));
      t.clock.advance(1000);
    }
    expect((await me(t, logins[0]!.accessToken)).status).toBe(401);
    expect((await refresh(t, logins[0]!.refreshToken)).status).toBe(401);
    for (const l of logins.slice(1)) expect((await me(t, l.accessToken)).status).toBe(200);
    const list = await listSessions(t, logins[10]!.auth);
    expect(list).toHaveLength(10);
    expect(list.map((s) => s.id)).not.toContain(logins[0]!.sessionId);
    const [row] = await t.platform.db.select().from(sessions).where(eq(sessions.id, logins[0]!.sessionId));
    expect(row?.revokedReason).toBe("session_limit");
  });

  test("idle timeout: 7 days without a refresh ends the session", async () => {
    const l = await login(t, await register(t));
    t.clock.advance(7 * DAY + MINUTE);
    expect((await refresh(t, l.refreshToken)).status).toBe(401);
    expect((await me(t, l.accessToken)).status).toBe(401);
  });

  test("activity keeps a session alive until its 30-day absolute limit", async () => {
    const l = await login(t, await register(t));
    let token = l.refreshToken;
    for (let i = 0; i < 4; i++) {
      t.clock.advance(6 * DAY); // never idle for 7 days
      const res = await refresh(t, token);
      expect(res.status).toBe(200);
      token = ((await res.json()) as { refreshToken: string }).refreshToken;
    }
    t.clock.advance(6 * DAY - 10 * MINUTE); // 29 d 23 h 50 min after login
    const last = await refresh(t, token);
    expect(last.status).toBe(200);
    const pair = (await last.json()) as { refreshToken: string; accessToken: string };
    expect((await me(t, pair.accessToken)).status).toBe(200);
    t.clock.advance(11 * MINUTE); // past 30 days; the access token itself is only 11 min old
    expect((await me(t, pair.accessToken)).status).toBe(401);
    expect((await refresh(t, pair.refreshToken)).status).toBe(401);
  });

  test("a demoted admin loses an admin permission on the next request with the same token", async () => {
    const alice = await register(t);
    const l = await login(t, alice);
    const route = "/api/v1/__test/members-write";
    expect((await t.app.request(route, { headers: l.auth })).status).toBe(200);
    await changeRoleAsAdmin(t, alice, "member");
    const res = await t.app.request(route, { headers: l.auth });
    expect(res.status).toBe(403);
    const body = (await (await me(t, l.accessToken)).json()) as { role: string };
    expect(body.role).toBe("member");
  });

  test("personal access tokens and instance tokens cannot manage sessions", async () => {
    const alice = await register(t);
    const pat = await insertPat(t, alice);
    for (const [method, path] of [
      ["GET", "/api/v1/auth/sessions"],
      ["POST", "/api/v1/auth/sessions/revoke-others"],
      ["POST", "/api/v1/auth/logout"],
    ] as const) {
      const r = await t.app.request(path, { method, headers: bearer(pat) });
      expect(r.status).toBe(403);
    }
    const res = await t.asOperator("/api/v1/auth/sessions");
    expect(res.status).toBe(403);
    expect((await t.app.request("/api/v1/auth/sessions")).status).toBe(401);
    expect((await t.app.request("/api/v1/auth/sessions", { headers: bearer("ttr_x") })).status).toBe(401);
    expect((await t.app.request("/api/v1/auth/sessions/revoke-others", post())).status).toBe(401);
  });
});
