import { afterEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { parseConfig } from "../../src/config/env";
import { users } from "../../src/db/schema";
import { ManualClock } from "../../src/ports/clock";
import { insertPat } from "../auth/helpers";
import { createTestApp, TEST_OPERATOR_TOKEN, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import { createAgent } from "../tokens/support";

/**
 * SPEC 2.5 rate limits through the whole middleware stack (app.request, ManualClock): each policy's
 * numbers, the IETF headers, the 429 problem, the window reset, and how buckets are keyed.
 * `ip` is the socket address the runtime hands the app (Bun: server.requestIP).
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const LOGIN = "/api/v1/auth/login";
const REGISTER = "/api/v1/auth/register";
const FORGOT = "/api/v1/auth/password/forgot";
const RESEND = "/api/v1/auth/email/resend";
const HEARTBEATS = "/api/v1/ingest/heartbeats";
const SCREENSHOTS = "/api/v1/ingest/screenshots";

let t: TestApp;
afterEach(() => t?.close());

async function app(env: Record<string, string> = {}) {
  t = await createTestApp(env, { clock: new ManualClock("2026-03-02T10:00:00Z") });
  return t;
}

function send(
  path: string,
  opts: { ip?: string; body?: unknown; headers?: Record<string, string>; method?: string } = {},
) {
  const method = opts.method ?? (opts.body === undefined ? "GET" : "POST");
  return t.app.request(
    path,
    {
      method,
      headers: {
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    },
    { ip: opts.ip ?? "203.0.113.10" },
  );
}

const login = (email: string, ip?: string, headers?: Record<string, string>) =>
  send(LOGIN, { ip, headers, body: { email, password: "Wrong-Password-123" } });

/** The item of one policy in a RateLimit / RateLimit-Policy list. */
function item(res: Response, header: "RateLimit" | "RateLimit-Policy", policy: string): string | undefined {
  return (res.headers.get(header) ?? "")
    .split(",")
    .map((s) => s.trim())
    .find((s) => s.startsWith(`"${policy}";`));
}

async function expectLimited(res: Response, policy: string, retryAfter: number) {
  expect(res.status).toBe(429);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.headers.get("retry-after")).toBe(String(retryAfter));
  expect(item(res, "RateLimit", policy)).toBe(`"${policy}";r=0;t=${retryAfter}`);
  expect(item(res, "RateLimit-Policy", policy)).toBeDefined();
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 429, code: "RATE_LIMITED", title: "Too Many Requests" });
  expect(typeof body.requestId).toBe("string");
  expect(String(body.detail)).toContain(`${retryAfter} s`);
}

/** Sends `n` requests that must all pass the limiter; returns the last response. */
async function allowed(n: number, fn: (i: number) => Response | Promise<Response>): Promise<Response> {
  let res: Response | undefined;
  for (let i = 0; i < n; i++) {
    res = await fn(i);
    expect(res.status).not.toBe(429);
  }
  return res!;
}

describe("login: 5 per 15 min per IP + email", () => {
  test("5 attempts pass with headers, the 6th is 429 problem+json with Retry-After, the window resets", async () => {
    await app();
    const first = await login("ada@example.com");
    expect(first.status).toBe(401);
    expect(first.headers.get("ratelimit-policy")).toBe('"login";q=5;w=900');
    expect(first.headers.get("ratelimit")).toBe('"login";r=4;t=900');
    const fifth = await allowed(4, () => login("ada@example.com"));
    expect(fifth.headers.get("ratelimit")).toBe('"login";r=0;t=900');

    t.clock.advance(5 * MIN);
    await expectLimited(await login("ada@example.com"), "login", 600);

    t.clock.advance(10 * MIN);
    const again = await login("ada@example.com");
    expect(again.status).toBe(401);
    expect(again.headers.get("ratelimit")).toBe('"login";r=4;t=900');
  });

  test("a real user's correct password is limited too once the bucket is spent (no oracle past the limit)", async () => {
    await app();
    const m = await seedMember(t, "member");
    await allowed(5, () => login(m.email));
    const ok = await send(LOGIN, { body: { email: m.email, password: m.password } });
    await expectLimited(ok, "login", 900);
  });

  test("the email is normalised: case and spaces do not open a new bucket", async () => {
    await app();
    await allowed(5, (i) => login(i % 2 ? " Ada@Example.COM " : "ada@example.com"));
    expect((await login("ADA@EXAMPLE.COM")).status).toBe(429);
  });

  test("another email from the same IP, or the same email from another IP, is a separate bucket", async () => {
    await app();
    await allowed(5, () => login("ada@example.com", "198.51.100.1"));
    expect((await login("ada@example.com", "198.51.100.1")).status).toBe(429);
    const otherEmail = await login("bob@example.com", "198.51.100.1");
    expect(otherEmail.status).toBe(401);
    expect(otherEmail.headers.get("ratelimit")).toBe('"login";r=4;t=900');
    const otherIp = await login("ada@example.com", "198.51.100.2");
    expect(otherIp.status).toBe(401);
    expect(otherIp.headers.get("ratelimit")).toBe('"login";r=4;t=900');
  });

  test("malformed and invalid bodies count against the IP (they cannot be used to probe for free)", async () => {
    await app();
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request(
        LOGIN,
        { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" },
        { ip: "203.0.113.10" },
      );
      expect(res.status).toBe(400);
    }
    const sixth = await send(LOGIN, { body: { email: 42, password: "x" } });
    await expectLimited(sixth, "login", 900);
  });

  test("the number and window come from RATE_LIMIT_LOGIN", async () => {
    await app({ RATE_LIMIT_LOGIN: "2/30s" });
    const first = await login("ada@example.com");
    expect(first.headers.get("ratelimit-policy")).toBe('"login";q=2;w=30');
    await login("ada@example.com");
    await expectLimited(await login("ada@example.com"), "login", 30);
    t.clock.advance(30_000);
    expect((await login("ada@example.com")).status).toBe(401);
  });
});

describe("register, password forgot, verify-resend: 5 per hour per IP", () => {
  test("register: the 6th from one IP is 429 and creates nothing; another IP is not affected", async () => {
    await app();
    const body = (i: number) => ({
      email: `new${i}@example.com`,
      password: `Quiet-Harbor-${i}-Lantern`,
      name: "N",
    });
    const fifth = await allowed(5, (i) => send(REGISTER, { body: body(i) }));
    expect(fifth.status).toBe(201);
    expect(fifth.headers.get("ratelimit-policy")).toBe('"register";q=5;w=3600');
    expect(fifth.headers.get("ratelimit")).toBe('"register";r=0;t=3600');
    await expectLimited(await send(REGISTER, { body: body(6) }), "register", 3600);
    expect(await t.platform.db.select().from(users).where(eq(users.email, "new6@example.com"))).toHaveLength(
      0,
    );
    expect((await send(REGISTER, { ip: "198.51.100.7", body: body(7) })).status).toBe(201);
    t.clock.advance(HOUR);
    expect((await send(REGISTER, { body: body(8) })).status).toBe(201);
  });

  test("password forgot: 202 five times, then 429 for every address from that IP", async () => {
    await app();
    const last = await allowed(5, (i) => send(FORGOT, { body: { email: `x${i}@example.com` } }));
    expect(last.status).toBe(202);
    expect(last.headers.get("ratelimit")).toBe('"password-forgot";r=0;t=3600');
    await expectLimited(
      await send(FORGOT, { body: { email: "someone@example.com" } }),
      "password-forgot",
      3600,
    );
    expect((await send(FORGOT, { ip: "198.51.100.9", body: { email: "someone@example.com" } })).status).toBe(
      202,
    );
  });

  test("verify-resend: per IP across users (each user's own throttle untouched), with the API policy listed too", async () => {
    await app();
    const members = [];
    for (let i = 0; i < 6; i++) {
      const m = await seedMember(t, "member");
      await t.platform.db.update(users).set({ emailVerifiedAt: null }).where(eq(users.id, m.userId));
      members.push(m);
    }
    for (const m of members.slice(0, 5)) {
      const res = await send(RESEND, { method: "POST", headers: m.auth });
      expect(res.status).toBe(202);
      // Two policies apply: the per-IP one and the caller's API budget; both are listed.
      expect(item(res, "RateLimit-Policy", "verify-resend")).toBe('"verify-resend";q=5;w=3600');
      expect(item(res, "RateLimit", "api")).toBe('"api";r=99;t=60');
    }
    const sixth = await send(RESEND, { method: "POST", headers: members[5]!.auth });
    await expectLimited(sixth, "verify-resend", 3600);
    expect(
      (await send(RESEND, { method: "POST", ip: "198.51.100.3", headers: members[5]!.auth })).status,
    ).toBe(202);
  });
});

describe("API: 100 per minute per user or token", () => {
  test("per user across sessions; another user, and the user's own PAT, have their own buckets", async () => {
    await app();
    const ada = await seedMember(t, "admin");
    const bob = await seedMember(t, "member", { orgId: ada.orgId });
    const secondSession = await t.services.sessions.create({ userId: ada.userId, orgId: ada.orgId, ip: "x" });
    const pat = await insertPat(t, ada);

    const first = await send("/api/v1/me", { headers: ada.auth });
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"api";q=100;w=60');
    expect(first.headers.get("ratelimit")).toBe('"api";r=99;t=60');
    // 99 more, half of them from the second session and from other IPs: still one bucket.
    await allowed(99, (i) =>
      send("/api/v1/me", {
        ip: `192.0.2.${i}`,
        headers: i % 2 ? ada.auth : { authorization: `Bearer ${secondSession.accessToken}` },
      }),
    );
    t.clock.advance(20_000);
    await expectLimited(await send("/api/v1/me", { headers: ada.auth }), "api", 40);

    const other = await send("/api/v1/me", { headers: bob.auth });
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit")).toBe('"api";r=99;t=60');
    const viaPat = await send("/api/v1/me", { headers: { authorization: `Bearer ${pat}` } });
    expect(viaPat.status).not.toBe(429);
    expect(viaPat.headers.get("ratelimit")).toBe('"api";r=99;t=60');

    t.clock.advance(40_000);
    expect((await send("/api/v1/me", { headers: ada.auth })).status).toBe(200);
  });

  test("unauthenticated and bad-token requests are not counted against anyone (they never reach it)", async () => {
    await app();
    const res = await send("/api/v1/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  test("the operator token has its own API bucket (admin routes included)", async () => {
    await app({ RATE_LIMIT_API: "3/1m" });
    const op = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` };
    await allowed(3, () => send("/api/v1/admin/jobs", { headers: op }));
    await expectLimited(await send("/api/v1/admin/jobs", { headers: op }), "api", 60);
  });

  test("the allow-list does not exempt anyone from the per-caller API limit", async () => {
    await app({ RATE_LIMIT_API: "2/1m", RATE_LIMIT_ALLOWLIST: "203.0.113.0/24" });
    const m = await seedMember(t, "member");
    await allowed(2, () => send("/api/v1/me", { headers: m.auth }));
    expect((await send("/api/v1/me", { headers: m.auth })).status).toBe(429);
  });
});

describe("agent ingest: per agent token", () => {
  async function agents() {
    const m = await seedMember(t, "member");
    const a = await createAgent(t, m, "Laptop");
    const b = await createAgent(t, m, "Desktop");
    return { a: { authorization: `Bearer ${a.token}` }, b: { authorization: `Bearer ${b.token}` } };
  }

  test("heartbeats: 60 per minute per agent; another agent is separate; ingest does not spend the API budget", async () => {
    await app();
    const { a, b } = await agents();
    const first = await send(HEARTBEATS, { headers: a, body: [] });
    expect(first.headers.get("ratelimit-policy")).toBe('"heartbeats";q=60;w=60');
    expect(first.headers.get("ratelimit")).toBe('"heartbeats";r=59;t=60');
    expect(item(first, "RateLimit", "api")).toBeUndefined();
    await allowed(59, () => send(HEARTBEATS, { headers: a, body: [] }));
    await expectLimited(await send(HEARTBEATS, { headers: a, body: [] }), "heartbeats", 60);
    expect((await send(HEARTBEATS, { headers: b, body: [] })).status).not.toBe(429);
    // The same agent's other calls still have their whole API budget.
    const other = await send("/api/v1/agents/me", { headers: a });
    expect(other.headers.get("ratelimit")).toBe('"api";r=99;t=60');
    t.clock.advance(MIN);
    expect((await send(HEARTBEATS, { headers: a, body: [] })).status).not.toBe(429);
  });

  test("screenshots: 10 per minute per agent", async () => {
    await app();
    const { a, b } = await agents();
    const first = await send(SCREENSHOTS, { headers: a, body: {} });
    expect(first.headers.get("ratelimit-policy")).toBe('"screenshots";q=10;w=60');
    await allowed(9, () => send(SCREENSHOTS, { headers: a, body: {} }));
    await expectLimited(await send(SCREENSHOTS, { headers: a, body: {} }), "screenshots", 60);
    expect((await send(SCREENSHOTS, { headers: b, body: {} })).status).not.toBe(429);
  });
});

describe("client IP", () => {
  test("without TRUST_PROXY a spoofed X-Forwarded-For is ignored: the socket address is the bucket", async () => {
    await app();
    await allowed(5, (i) => login("ada@example.com", "203.0.113.10", { "x-forwarded-for": `10.9.8.${i}` }));
    const spoofed = await login("ada@example.com", "203.0.113.10", {
      "x-forwarded-for": "1.2.3.4",
      "x-real-ip": "1.2.3.5",
      "cf-connecting-ip": "1.2.3.6",
    });
    expect(spoofed.status).toBe(429);
  });

  test("TRUST_PROXY=x-forwarded-for: the right-most hop is the client; entries a client prepends are ignored", async () => {
    await app({ TRUST_PROXY: "x-forwarded-for" });
    const proxy = "10.0.0.1";
    await allowed(5, (i) =>
      login("ada@example.com", proxy, { "x-forwarded-for": `6.6.6.${i}, 198.51.100.20` }),
    );
    expect((await login("ada@example.com", proxy, { "x-forwarded-for": "198.51.100.20" })).status).toBe(429);
    // A different real client behind the same proxy has its own bucket.
    expect((await login("ada@example.com", proxy, { "x-forwarded-for": "198.51.100.21" })).status).toBe(401);
  });

  test("TRUSTED_PROXIES: hops inside them are skipped; a peer outside them cannot set the header", async () => {
    await app({ TRUST_PROXY: "x-forwarded-for", TRUSTED_PROXIES: "10.0.0.0/8" });
    const xff = "198.51.100.30, 10.1.1.1, 10.2.2.2";
    await allowed(5, () => login("ada@example.com", "10.0.0.1", { "x-forwarded-for": xff }));
    expect((await login("ada@example.com", "10.0.0.1", { "x-forwarded-for": "198.51.100.30" })).status).toBe(
      429,
    );
    // Straight from the internet (peer not a trusted proxy): the header is the attacker's, ignored.
    await allowed(5, () => login("ada@example.com", "203.0.113.99", { "x-forwarded-for": "198.51.100.31" }));
    expect(
      (await login("ada@example.com", "203.0.113.99", { "x-forwarded-for": "198.51.100.32" })).status,
    ).toBe(429);
  });

  test("IPv6 clients are bucketed by /64; IPv4-mapped addresses are their IPv4 address", async () => {
    await app();
    await allowed(5, (i) => login("ada@example.com", `2001:db8:1:2::${i + 1}`));
    expect((await login("ada@example.com", "2001:db8:1:2:ffff::9")).status).toBe(429);
    expect((await login("ada@example.com", "2001:db8:1:3::1")).status).toBe(401);
    await allowed(5, () => login("bob@example.com", "::ffff:198.51.100.40"));
    expect((await login("bob@example.com", "198.51.100.40")).status).toBe(429);
  });

  test("an allow-listed CIDR (IPv4 or IPv6) skips the IP-keyed limits; others are still limited", async () => {
    await app({ RATE_LIMIT_ALLOWLIST: "192.0.2.0/24, 2001:db8:aa::/48" });
    for (const ip of ["192.0.2.55", "2001:db8:aa:1::7"]) {
      for (let i = 0; i < 8; i++) {
        const res = await login("ada@example.com", ip);
        expect(res.status).toBe(401);
        expect(res.headers.get("ratelimit")).toBeNull();
      }
      for (let i = 0; i < 7; i++)
        expect((await send(FORGOT, { ip, body: { email: "a@example.com" } })).status).toBe(202);
    }
    await allowed(5, () => login("ada@example.com", "192.0.3.1"));
    expect((await login("ada@example.com", "192.0.3.1")).status).toBe(429);
  });
});

describe("configuration", () => {
  const base = {
    NODE_ENV: "test",
    JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
    ENCRYPTION_KEY: btoa("0123456789abcdef0123456789abcdef"),
  };

  test("defaults are the spec's numbers", () => {
    const c = parseConfig(base).config!;
    expect(c.RATE_LIMIT_LOGIN).toEqual({ max: 5, window: 15 * MIN });
    expect(c.RATE_LIMIT_REGISTER).toEqual({ max: 5, window: HOUR });
    expect(c.RATE_LIMIT_PASSWORD_FORGOT).toEqual({ max: 5, window: HOUR });
    expect(c.RATE_LIMIT_VERIFY_RESEND).toEqual({ max: 5, window: HOUR });
    expect(c.RATE_LIMIT_API).toEqual({ max: 100, window: MIN });
    expect(c.RATE_LIMIT_HEARTBEATS).toEqual({ max: 60, window: MIN });
    expect(c.RATE_LIMIT_SCREENSHOTS).toEqual({ max: 10, window: MIN });
    expect(c.RATE_LIMIT_ALLOWLIST).toEqual([]);
  });

  test("bad rules and CIDRs are errors naming the variable and every bad entry, all at once", () => {
    const r = parseConfig({
      ...base,
      RATE_LIMIT_LOGIN: "5 per minute",
      RATE_LIMIT_API: "0/1m",
      RATE_LIMIT_ALLOWLIST: "10.0.0.0/8, 10.0.0.0/33, banana, 2001:db8::/129, ::1",
      TRUSTED_PROXIES: "300.1.1.1",
    });
    expect(r.config).toBeUndefined();
    const by = Object.fromEntries(r.errors.map((e) => [e.variable, e.message]));
    expect(by.RATE_LIMIT_LOGIN).toContain("<max>/<window>");
    expect(by.RATE_LIMIT_API).toContain("<max>/<window>");
    expect(by.RATE_LIMIT_ALLOWLIST).toBe("not an IP address or CIDR: 10.0.0.0/33, banana, 2001:db8::/129");
    expect(by.TRUSTED_PROXIES).toContain("300.1.1.1");
  });

  test("units: s, m, h, d and bare seconds", () => {
    const c = parseConfig({
      ...base,
      RATE_LIMIT_API: "1000/90",
      RATE_LIMIT_LOGIN: "3/2h",
      RATE_LIMIT_REGISTER: "10/1d",
    }).config!;
    expect(c.RATE_LIMIT_API).toEqual({ max: 1000, window: 90_000 });
    expect(c.RATE_LIMIT_LOGIN).toEqual({ max: 3, window: 2 * HOUR });
    expect(c.RATE_LIMIT_REGISTER).toEqual({ max: 10, window: 24 * HOUR });
  });
});
