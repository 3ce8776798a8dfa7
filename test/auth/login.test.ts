import { afterEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { Argon2Hasher } from "../../src/adapters/passwords/argon2";
import { memberships, users } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { auditRows, bearer, insertPat, login, me, post, register } from "./helpers";

describe("POST /api/v1/auth/login", () => {
  let t: TestApp;
  afterEach(() => t.close());

  test("returns the token pair and the user, and sets the refresh cookie", async () => {
    t = await createTestApp();
    const account = await register(t);
    const res = await t.app.request(
      "/api/v1/auth/login",
      post({ email: ` ${account.email.toUpperCase()} `, password: account.password }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      "accessToken",
      "expiresIn",
      "refreshToken",
      "tokenType",
      "user",
    ]);
    expect(body).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(body.user).toMatchObject({ id: account.userId, email: account.email, emailVerified: false });
    expect(JSON.stringify(body)).not.toContain("argon2");
    // Spec 2.2: HttpOnly, SameSite=Strict, scoped to /api/v1/auth, 30 days. Not Secure over plain http in tests.
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toStartWith(`tt_refresh=${body.refreshToken};`);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/api/v1/auth");
    expect(cookie).toContain("Max-Age=2592000");
    expect(cookie).not.toContain("Secure");
  });

  test("the cookie is Secure when PUBLIC_URL is https, and in production", async () => {
    t = await createTestApp({ PUBLIC_URL: "https://track.example.com" });
    const l = await login(t, await register(t));
    expect(l.setCookie).toContain("Secure");
    await t.close();
    t = await createTestApp({ NODE_ENV: "production", PUBLIC_URL: "http://internal:3000" });
    const p = await login(t, await register(t));
    expect(p.setCookie).toContain("Secure");
  });

  test("success and failures are audited without the password", async () => {
    t = await createTestApp();
    const account = await register(t);
    const l = await login(t, account, { "user-agent": "TestBrowser/1" });
    const wrong = await t.app.request(
      "/api/v1/auth/login",
      post({ email: account.email, password: "Wrong-Pass-123-xyz" }),
    );
    expect(wrong.status).toBe(401);
    const unknown = await t.app.request(
      "/api/v1/auth/login",
      post({ email: "ghost@example.com", password: "Wrong-Pass-123-xyz" }),
    );
    expect(unknown.status).toBe(401);

    const [ok] = await auditRows(t, "auth.login");
    expect(ok).toMatchObject({
      orgId: account.orgId,
      actorType: "user",
      actorId: account.userId,
      targetType: "session",
      targetId: l.sessionId,
      userAgent: "TestBrowser/1",
    });
    expect(ok!.requestId).toBeTruthy();
    // Same instant on the manual clock: order by chain, wrong password (user's org) first.
    const failed = (await auditRows(t, "auth.login_failed")).sort((a, b) =>
      a.orgId === "_system" ? 1 : b.orgId === "_system" ? -1 : 0,
    );
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({
      orgId: account.orgId,
      actorType: "anonymous",
      targetId: account.userId,
    });
    expect(JSON.parse(failed[0]!.metadata)).toEqual({ email: account.email, reason: "wrong_password" });
    expect(failed[1]).toMatchObject({ orgId: "_system", targetId: null });
    expect(JSON.parse(failed[1]!.metadata)).toEqual({ email: "ghost@example.com", reason: "unknown_email" });
    for (const row of [ok, ...failed]) {
      expect(JSON.stringify(row)).not.toContain(account.password);
      expect(JSON.stringify(row)).not.toContain("Wrong-Pass-123-xyz");
    }
  });

  test("a hash made with other argon2id parameters is upgraded on login", async () => {
    t = await createTestApp();
    const account = await register(t);
    const old = await new Argon2Hasher({ memoryCost: 512, timeCost: 1, parallelism: 1 }).hash(
      account.password,
    );
    await t.platform.db.update(users).set({ passwordHash: old }).where(eq(users.id, account.userId));
    await login(t, account);
    const [row] = await t.platform.db.select().from(users).where(eq(users.id, account.userId));
    expect(row!.passwordHash).not.toBe(old);
    expect(row!.passwordHash).toContain("$m=1024,t=1,p=1$"); // the test app's current parameters
    await login(t, account); // and the new hash verifies
  });

  test("a current hash is left alone", async () => {
    t = await createTestApp();
    const account = await register(t);
    const [before] = await t.platform.db.select().from(users).where(eq(users.id, account.userId));
    await login(t, account);
    const [after] = await t.platform.db.select().from(users).where(eq(users.id, account.userId));
    expect(after!.passwordHash).toBe(before!.passwordHash);
  });

  test("bad bodies are 422, never 401 or 500", async () => {
    t = await createTestApp();
    for (const body of [
      {},
      { email: "a@example.com" },
      { email: "x", password: "y" },
      { email: "a@example.com", password: "p", remember: true },
    ]) {
      const res = await t.app.request("/api/v1/auth/login", post(body));
      expect(res.status).toBe(422);
    }
  });
});

describe("GET /api/v1/me", () => {
  let t: TestApp;
  afterEach(() => t.close());

  test("without credentials 401; with a personal access token the principal kind is pat", async () => {
    t = await createTestApp();
    expect((await t.app.request("/api/v1/me")).status).toBe(401);
    const account = await register(t);
    const pat = await insertPat(t, account, ["reports:read"]);
    const res = await t.app.request("/api/v1/me", { headers: bearer(pat) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      user: { id: account.userId },
      role: "admin",
      principal: { kind: "pat" },
    });
    // Instance credentials are not a member.
    expect((await t.asOperator("/api/v1/me")).status).toBe(403);
  });

  test("after removal from the organization: organization and role are null", async () => {
    t = await createTestApp();
    const account = await register(t);
    const l = await login(t, account);
    await t.platform.db.delete(memberships).where(eq(memberships.userId, account.userId));
    const res = await me(t, l.accessToken);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ organization: null, role: null, principal: { kind: "user" } });
  });

  test("is private and never cached", async () => {
    t = await createTestApp();
    const l = await login(t, await register(t));
    const res = await me(t, l.accessToken);
    expect(res.headers.get("cache-control")).toContain("no-store");
  });
});
