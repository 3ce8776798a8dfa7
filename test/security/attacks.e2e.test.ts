/**
 * Issue 4 point 8: the attack list of the identity and account-protection issues, end to end over
 * real HTTP against a running server process (`bun src/runtime/bun.ts`), so the whole middleware
 * stack (socket address, body limits, auth, rate limits, headers) is what answers.
 *
 * Server A runs with the defaults (no TRUST_PROXY: the socket address is the client). Server B
 * trusts X-Forwarded-For, as behind a reverse proxy, so one test machine can play many clients.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { totpCode } from "../../src/modules/two-factor/totp";
import { type ServerProcess, startServer, stopAll } from "../support/process";

const JWT_SECRET = "e2e-jwt-secret-0123456789abcdefghijklmnop";
const STRONG = "Quiet-Harbour-Lantern-1842";
let A: ServerProcess;
let B: ServerProcess;

beforeAll(async () => {
  const env = { JWT_SECRET, REFRESH_REUSE_GRACE_SECONDS: "0", CORS_ORIGINS: "https://app.example.com" };
  // A registers many throwaway accounts from one socket: its register limit is raised (B keeps 5/h).
  [A, B] = await Promise.all([
    startServer({ ...env, RATE_LIMIT_REGISTER: "1000/1h" }),
    startServer({ ...env, TRUST_PROXY: "x-forwarded-for" }),
  ]);
}, 60_000);
afterAll(stopAll);

let n = 0;
const email = (p = "e2e") => `${p}${++n}-${crypto.randomUUID().slice(0, 6)}@example.com`;

async function http(
  s: ServerProcess,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A problem body without its per-request id (the only field allowed to differ). */
const shape = (r: { status: number; json: Record<string, unknown> }) => {
  const { requestId: _, ...rest } = r.json;
  return { status: r.status, body: rest };
};

async function account(s: ServerProcess, via: Record<string, string> = {}) {
  const e = email();
  const reg = await http(s, "POST", "/api/v1/auth/register", {
    body: { email: e, password: STRONG, name: "E" },
    headers: via,
  });
  expect(reg.status).toBe(201);
  const login = await http(s, "POST", "/api/v1/auth/login", {
    body: { email: e, password: STRONG },
    headers: via,
  });
  expect(login.status).toBe(200);
  return {
    email: e,
    orgId: (reg.json.organization as { id: string }).id,
    access: login.json.accessToken as string,
    refresh: login.json.refreshToken as string,
  };
}

async function mail(s: ServerProcess, to: string, template: string): Promise<string> {
  const r = await http(s, "GET", "/dev/mail?limit=100");
  const m = (r.json.data as { to: string; template: string; text: string }[]).find(
    (x) => x.to === to && x.template === template,
  );
  return m?.text ?? "";
}

describe("enumeration (real HTTP)", () => {
  test("register: an existing address and a new one get the same status and body shape", async () => {
    const a = await account(A, { "x-test": "1" });
    const existing = await http(A, "POST", "/api/v1/auth/register", {
      body: { email: a.email, password: STRONG, name: "X" },
    });
    const fresh = await http(A, "POST", "/api/v1/auth/register", {
      body: { email: email(), password: STRONG, name: "X" },
    });
    expect(existing.status).toBe(fresh.status);
    expect(Object.keys(existing.json).sort()).toEqual(Object.keys(fresh.json).sort());
  });

  test("login: unknown email and wrong password are the same 401; forgot-password the same 202", async () => {
    const a = await account(A);
    const unknown = await http(A, "POST", "/api/v1/auth/login", {
      body: { email: email("ghost"), password: "Wrong-Pass-1234" },
    });
    const wrong = await http(A, "POST", "/api/v1/auth/login", {
      body: { email: a.email, password: "Wrong-Pass-1234" },
    });
    expect(shape(unknown)).toEqual(shape(wrong));
    expect(unknown.status).toBe(401);
    const f1 = await http(A, "POST", "/api/v1/auth/password/forgot", { body: { email: a.email } });
    const f2 = await http(A, "POST", "/api/v1/auth/password/forgot", { body: { email: email("ghost") } });
    expect(shape(f1)).toEqual(shape(f2));
  });
});

describe("brute force and rate limits (real HTTP)", () => {
  test("login: the 6th attempt for one IP+email is 429 with Retry-After and RateLimit headers; a spoofed X-Forwarded-For does not reset it", async () => {
    const a = await account(A); // its sign-in was attempt 1 of 5 for this IP+email
    for (let i = 1; i < 5; i++) {
      const r = await http(A, "POST", "/api/v1/auth/login", {
        body: { email: a.email, password: "Wrong-Pass-1234" },
      });
      expect(r.status).toBe(401);
      expect(r.headers.get("ratelimit-policy")).toBe('"login";q=5;w=900');
      expect(r.headers.get("ratelimit")).toStartWith(`"login";r=${4 - i};t=`);
    }
    const limited = await http(A, "POST", "/api/v1/auth/login", {
      body: { email: a.email, password: STRONG },
      headers: { "x-forwarded-for": "203.0.113.77" },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toContain("application/problem+json");
    expect(limited.json.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("register: 5 per hour per client IP; another IP has its own bucket", async () => {
    const via = { "x-forwarded-for": "192.0.2.44" };
    for (let i = 0; i < 5; i++)
      expect(
        (
          await http(B, "POST", "/api/v1/auth/register", {
            body: { email: email(), password: STRONG, name: "R" },
            headers: via,
          })
        ).status,
      ).toBe(201);
    const sixth = await http(B, "POST", "/api/v1/auth/register", {
      body: { email: email(), password: STRONG, name: "R" },
      headers: via,
    });
    expect(sixth.status).toBe(429);
    expect(sixth.json.code).toBe("RATE_LIMITED");
    const other = await http(B, "POST", "/api/v1/auth/register", {
      body: { email: email(), password: STRONG, name: "R" },
      headers: { "x-forwarded-for": "192.0.2.45" },
    });
    expect(other.status).toBe(201);
  });

  test("API: 100 requests per minute per user, then 429", async () => {
    const a = await account(A);
    const statuses = await Promise.all(
      Array.from({ length: 101 }, () =>
        http(A, "GET", "/api/v1/me", { token: a.access }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
  });

  test("account lockout across IPs: 10 wrong passwords lock the account; the locked answer equals a wrong password; the owner is emailed", async () => {
    const ip = (i: number) => ({ "x-forwarded-for": `198.51.100.${i}` });
    const a = await account(B, ip(250));
    let wrong: ReturnType<typeof shape> | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await http(B, "POST", "/api/v1/auth/login", {
        body: { email: a.email, password: "Wrong-Pass-1234" },
        headers: ip(i + 1),
      });
      wrong ??= shape(r);
      expect(r.status).toBe(401);
    }
    const locked = await http(B, "POST", "/api/v1/auth/login", {
      body: { email: a.email, password: STRONG },
      headers: ip(99),
    });
    expect(shape(locked)).toEqual(wrong as ReturnType<typeof shape>);
    expect(await mail(B, a.email, "account_locked")).toContain("failed sign-in attempts");
  });
});

describe("tokens (real HTTP)", () => {
  test("forged, expired and confused JWTs are 401", async () => {
    const a = await account(A);
    const sub = JSON.parse(
      atob((a.access.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")),
    ) as Record<string, unknown>;
    const key = new TextEncoder().encode(JWT_SECRET);
    const sign = (claims: Record<string, unknown>, alg = "HS256", k = key) =>
      new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(k);
    const now = Math.floor(Date.now() / 1000);
    const noneToken = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${a.access.split(".")[1]}.`;
    const forged = [
      noneToken,
      await sign(sub, "HS256", new TextEncoder().encode("another-secret-0123456789abcdefghijk")),
      await sign({ ...sub, exp: now - 60, iat: now - 960 }),
      await sign({ ...sub, aud: "someone-else" }),
      await sign({ ...sub, typ: "refresh" }),
      await sign(sub, "HS512"),
      `${a.access.slice(0, -3)}AAA`,
    ];
    for (const token of forged) {
      const r = await http(A, "GET", "/api/v1/me", { token });
      expect({ token: token.slice(0, 12), status: r.status }).toEqual({
        token: token.slice(0, 12),
        status: 401,
      });
    }
    expect((await http(A, "GET", "/api/v1/me", { token: a.access })).status).toBe(200);
  });

  test("a replayed refresh token revokes the whole family, including the newest tokens", async () => {
    const a = await account(A);
    const first = await http(A, "POST", "/api/v1/auth/refresh", { body: { refreshToken: a.refresh } });
    expect(first.status).toBe(200);
    const replay = await http(A, "POST", "/api/v1/auth/refresh", { body: { refreshToken: a.refresh } });
    expect(replay.status).toBe(401);
    expect(replay.json.code).toBe("REFRESH_TOKEN_REUSED");
    expect(
      (await http(A, "POST", "/api/v1/auth/refresh", { body: { refreshToken: first.json.refreshToken } }))
        .status,
    ).toBe(401);
    expect((await http(A, "GET", "/api/v1/me", { token: first.json.accessToken as string })).status).toBe(
      401,
    );
  });

  test("another organization's ids are 404 and change nothing (BOLA)", async () => {
    const a = await account(A);
    const b = await account(A);
    const members = await http(A, "GET", `/api/v1/orgs/${a.orgId}/members`, { token: a.access });
    const memberId = (members.json.data as { id: string }[])[0]?.id ?? "";
    expect((await http(A, "GET", `/api/v1/orgs/${a.orgId}/members`, { token: b.access })).status).toBe(404);
    expect(
      (await http(A, "DELETE", `/api/v1/orgs/${a.orgId}/members/${memberId}`, { token: b.access })).status,
    ).toBe(404);
    expect(
      (await http(A, "PATCH", `/api/v1/orgs/${a.orgId}`, { token: b.access, body: { name: "Pwned" } }))
        .status,
    ).toBe(404);
    expect(
      (await http(A, "GET", `/api/v1/orgs/${a.orgId}/members`, { token: a.access })).json.data,
    ).toHaveLength(1);
  });

  test("a narrow personal access token cannot widen itself; an agent token is ingest-only", async () => {
    const a = await account(A);
    const pat = await http(A, "POST", "/api/v1/tokens", {
      token: a.access,
      body: { name: "ro", scopes: ["reports:read"] },
    });
    expect(pat.status).toBe(201);
    const patToken = pat.json.token as string;
    expect(
      (
        await http(A, "POST", "/api/v1/tokens", {
          token: patToken,
          body: { name: "x", scopes: ["audit:read"] },
        })
      ).status,
    ).toBe(403);
    expect((await http(A, "GET", "/api/v1/audit", { token: patToken })).status).toBe(403);
    const agent = await http(A, "POST", "/api/v1/agents", { token: a.access, body: { name: "laptop" } });
    const agentToken = agent.json.token as string;
    expect((await http(A, "GET", `/api/v1/orgs/${a.orgId}/members`, { token: agentToken })).status).toBe(403);
    expect((await http(A, "POST", "/api/v1/auth/2fa/setup", { token: agentToken })).status).toBe(403);
  });
});

describe("two-factor authentication (real HTTP)", () => {
  test("the challenge grants nothing else, the enrolment code cannot be replayed, and 5 wrong codes kill the challenge", async () => {
    const a = await account(A);
    const setup = await http(A, "POST", "/api/v1/auth/2fa/setup", { token: a.access });
    const secret = setup.json.secret as string;
    const code = await totpCode(secret, new Date());
    expect(
      (await http(A, "POST", "/api/v1/auth/2fa/enable", { token: a.access, body: { code } })).status,
    ).toBe(200);
    const login = await http(A, "POST", "/api/v1/auth/login", { body: { email: a.email, password: STRONG } });
    expect(login.json.mfaRequired).toBe(true);
    const challenge = login.json.challengeToken as string;
    expect((await http(A, "GET", "/api/v1/me", { token: challenge })).status).toBe(401);
    expect(
      (await http(A, "POST", "/api/v1/auth/refresh", { body: { refreshToken: challenge } })).status,
    ).toBe(401);
    // The enrolment code (same or earlier step) is a replay.
    const replay = await http(A, "POST", "/api/v1/auth/2fa/verify", {
      body: { challengeToken: challenge, code },
    });
    expect(replay.json.code).toBe("INVALID_CODE");
    for (let i = 0; i < 4; i++)
      await http(A, "POST", "/api/v1/auth/2fa/verify", {
        body: { challengeToken: challenge, code: "000000" },
      });
    const dead = await http(A, "POST", "/api/v1/auth/2fa/verify", {
      body: { challengeToken: challenge, code: await totpCode(secret, new Date(Date.now() + 30_000)) },
    });
    expect(dead.json.code).toBe("INVALID_CHALLENGE");
  });
});

describe("hostile input (real HTTP)", () => {
  test("malformed, oversized, mistyped and over-posted bodies get problem+json, never a 500", async () => {
    const cases: [string, Parameters<typeof http>[3], number][] = [
      ["malformed JSON", { raw: '{"email": "a@b.c", ' }, 400],
      ["text/plain", { raw: "email=a", headers: { "content-type": "text/plain" } }, 415],
      ["2 MiB body", { raw: JSON.stringify({ email: "a@b.c", password: "x".repeat(2 * 1024 * 1024) }) }, 413],
      ["mass assignment", { body: { email: email(), password: STRONG, name: "M", role: "admin" } }, 422],
      ["control characters", { body: { email: email(), password: STRONG, name: "M\u0000\u0007" } }, 422],
      ["SQL in email", { body: { email: "' OR 1=1 --", password: STRONG, name: "M" } }, 422],
      ["array instead of object", { raw: "[1,2,3]" }, 422],
    ];
    for (const [label, opts, status] of cases) {
      const r = await http(A, "POST", "/api/v1/auth/register", opts);
      expect({ label, status: r.status }).toEqual({ label, status });
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.text).not.toMatch(/at .*\.ts:\d+|SQLITE|stack/i);
    }
  });

  test("security headers on every answer; CORS only for the configured origin", async () => {
    const r = await http(A, "GET", "/api/v1/health", { headers: { origin: "https://evil.example" } });
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    const ok = await http(A, "GET", "/api/v1/health", { headers: { origin: "https://app.example.com" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
  });
});
