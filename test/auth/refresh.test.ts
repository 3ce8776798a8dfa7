import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { startServer, stopAll } from "../support/process";
import { auditRows, login, me, post, refresh, register, strongPassword, uniqueEmail } from "./helpers";

const GRACE_PLUS = 11_000;

describe("refresh rotation with reuse detection", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  test("refresh returns a new working pair; the cookie is rotated too", async () => {
    const l = await login(t, await register(t));
    const res = await refresh(t, l.refreshToken);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType"]);
    expect(body.tokenType).toBe("Bearer");
    expect(body.expiresIn).toBe(900);
    expect(body.refreshToken).not.toBe(l.refreshToken);
    expect(String(body.refreshToken)).toStartWith("ttr_");
    expect(res.headers.get("set-cookie")).toContain(`tt_refresh=${body.refreshToken}`);
    expect((await me(t, String(body.accessToken))).status).toBe(200);
    // The successor rotates in turn.
    t.clock.advance(GRACE_PLUS);
    const next = await refresh(t, String(body.refreshToken));
    expect(next.status).toBe(200);
  });

  test("the refresh token may come from the cookie instead of the body", async () => {
    const l = await login(t, await register(t));
    const res = await t.app.request("/api/v1/auth/refresh", {
      method: "POST",
      headers: { cookie: `tt_refresh=${l.refreshToken}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { refreshToken: string };
    expect(body.refreshToken).not.toBe(l.refreshToken);
  });

  test("within the grace window a repeated refresh gets the same successor", async () => {
    const l = await login(t, await register(t));
    const a = (await (await refresh(t, l.refreshToken)).json()) as { refreshToken: string };
    t.clock.advance(5_000);
    const res = await refresh(t, l.refreshToken);
    expect(res.status).toBe(200);
    const b = (await res.json()) as { refreshToken: string };
    expect(b.refreshToken).toBe(a.refreshToken);
  });

  test("replaying a rotated token after the grace window revokes the whole session and is audited", async () => {
    const account = await register(t);
    const l = await login(t, account);
    const first = (await (await refresh(t, l.refreshToken)).json()) as { refreshToken: string };
    t.clock.advance(GRACE_PLUS);
    const second = (await (await refresh(t, first.refreshToken)).json()) as {
      refreshToken: string;
      accessToken: string;
    };
    expect((await me(t, second.accessToken)).status).toBe(200);

    t.clock.advance(GRACE_PLUS);
    const replay = await refresh(t, l.refreshToken); // the original, long rotated
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe("REFRESH_TOKEN_REUSED");
    expect(replay.headers.get("set-cookie")).toMatch(/tt_refresh=;.*Max-Age=0/);

    // The family is dead: the newest refresh token fails and the session's access token is refused
    // on the very next request, long before its 15-minute expiry.
    const newest = await refresh(t, second.refreshToken);
    expect(newest.status).toBe(401);
    expect((await me(t, second.accessToken)).status).toBe(401);
    const [row] = await t.platform.db.select().from(sessions).where(eq(sessions.id, l.sessionId));
    expect(row?.revokedReason).toBe("refresh_token_reuse");

    const audits = await auditRows(t, "auth.refresh_reused");
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ orgId: account.orgId, targetType: "session", targetId: l.sessionId });
    expect(JSON.parse(audits[0]!.metadata)).toMatchObject({ userId: account.userId });
    expect(audits[0]!.metadata).not.toContain("ttr_");
  });

  test("unknown, malformed, missing, expired and revoked refresh tokens are 401", async () => {
    const codes = async (res: Response) => [res.status, ((await res.json()) as { code: string }).code];
    expect(await codes(await refresh(t, "ttr_doesnotexist"))).toEqual([401, "INVALID_REFRESH_TOKEN"]);
    expect(await codes(await refresh(t, "garbage"))).toEqual([401, "INVALID_REFRESH_TOKEN"]);
    expect(await codes(await t.app.request("/api/v1/auth/refresh", { method: "POST" }))).toEqual([
      401,
      "INVALID_REFRESH_TOKEN",
    ]);
    expect(await codes(await t.app.request("/api/v1/auth/refresh", post({})))).toEqual([
      401,
      "INVALID_REFRESH_TOKEN",
    ]);
    const l = await login(t, await register(t));
    await t.app.request("/api/v1/auth/logout", { method: "POST", headers: l.auth });
    expect(await codes(await refresh(t, l.refreshToken))).toEqual([401, "INVALID_REFRESH_TOKEN"]);
  });

  test("unknown body fields are refused (422)", async () => {
    const res = await t.app.request("/api/v1/auth/refresh", post({ refreshToken: "ttr_x", userId: "usr_1" }));
    expect(res.status).toBe(422);
  });
});

describe("concurrent refresh over real HTTP (real server process)", () => {
  afterAll(stopAll);

  test("two truly concurrent refreshes of one token both succeed with the same successor", async () => {
    const server = await startServer();
    const email = uniqueEmail("race");
    const password = strongPassword();
    const call = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await call("/api/v1/auth/register", { email, password, name: "Racer" })).status).toBe(201);

    for (const parallel of [2, 6]) {
      const res = await call("/api/v1/auth/login", { email, password });
      expect(res.status).toBe(200);
      const { refreshToken } = (await res.json()) as { refreshToken: string };
      const results = await Promise.all(
        Array.from({ length: parallel }, () => call("/api/v1/auth/refresh", { refreshToken })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(parallel).fill(200));
      const bodies = (await Promise.all(results.map((r) => r.json()))) as {
        refreshToken: string;
        accessToken: string;
      }[];
      const successors = new Set(bodies.map((b) => b.refreshToken));
      expect(successors.size).toBe(1);
      expect([...successors][0]).not.toBe(refreshToken);
      // And the shared successor is a live token of a live session.
      const meRes = await fetch(`${server.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${bodies[0]!.accessToken}` },
      });
      expect(meRes.status).toBe(200);
      expect((await call("/api/v1/auth/refresh", { refreshToken: [...successors][0] })).status).toBe(200);
    }
    expect(await server.stop()).toBe(0);
  });
});
