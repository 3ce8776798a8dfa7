import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Hono } from "hono";
import { totpCode } from "../../src/modules/two-factor/totp";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";

/**
 * SPEC 1 / 2.6, issue 3 point 11: drives every identity flow that exists (register, verify, login,
 * refresh, sessions, password reset and change, members, invitations, tokens, agents, audit,
 * logout), records every JSON response, then asserts that none carries a password hash, a token
 * hash from the database, a raw password or a secret-named field, and that no audit row (or log
 * line) holds a raw password or token. Flows whose routes do not exist yet are skipped, so the
 * test grows with the app; each flow falls back to a seeded member when an earlier step is absent.
 */

type Json = unknown;
interface Recorded {
  call: string;
  status: number;
  text: string;
  body: Json;
}

let t: TestApp;
const recorded: Recorded[] = [];
const passwords = new Set<string>();
const tokens = new Set<string>();
let ipCounter = 0;

/** Whether the app serves `METHOD /api/v1/path/{param}` (routes of other features may not exist yet). */
function serves(method: string, path: string): boolean {
  const hono = path.replace(/\{(\w+)\}/g, ":$1");
  return (t.app as unknown as Hono).routes.some((r) => r.method === method && r.path === hono);
}

/** Keys whose string values are credentials the client receives (collected to scan audit rows). */
const TOKEN_KEYS = new Set(["accessToken", "refreshToken", "token", "challengeToken"]);

function collectTokens(v: Json): void {
  if (Array.isArray(v)) for (const x of v) collectTokens(x);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (TOKEN_KEYS.has(k) && typeof x === "string" && x.length >= 16) tokens.add(x);
      collectTokens(x);
    }
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = `Bearer ${opts.auth}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  // A fresh client address per call: the flows must not trip per-IP rate limits.
  ipCounter++;
  const res = await t.app.request(
    path,
    { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) },
    { ip: `198.51.${ipCounter >> 8}.${ipCounter & 255}` },
  );
  const text = await res.text();
  let body: Json = null;
  if ((res.headers.get("content-type") ?? "").includes("json") && text) {
    body = JSON.parse(text);
    collectTokens(body);
  }
  // Non-JSON answers (204s) are kept too: their (empty) text is scanned like the rest.
  recorded.push({ call: `${method} ${path} → ${res.status}`, status: res.status, text, body });
  return { status: res.status, body: (body ?? {}) as Record<string, unknown> };
}

/** Tokens sent by email (verification, reset, invitation links): `…?token=<value>`. */
async function mailedTokens(to: string): Promise<string[]> {
  await t.platform.drain(); // mail goes out after the response
  const rows = await t.platform.db.all<{ text: string }>(
    sql`SELECT text FROM mail_outbox WHERE lower("to") = ${to.toLowerCase()} ORDER BY created_at`,
  );
  const out: string[] = [];
  for (const r of rows)
    for (const m of String(r.text).matchAll(/[?&]token=([A-Za-z0-9_.%-]+)/g)) {
      const tok = decodeURIComponent(m[1] as string);
      tokens.add(tok);
      out.push(tok);
    }
  return out;
}

const PW = {
  admin: "Quartz-Meadow-Violin-8312",
  adminReset: "Harbor-Lantern-Thistle-5527",
  adminChanged: "Copper-Glacier-Sonnet-9044",
  duplicate: "Marble-Falcon-Ribbon-7730",
  wrong: "Velvet-Compass-Orchid-1186",
  invitee: "Saffron-Beacon-Tundra-4471",
  twoFactor: "Juniper-Anchor-Whistle-6610",
};

/** Values that must only ever reach the one response that hands them out (2FA secret, backup codes). */
const shownOnce = new Map<string, string>();

const ADMIN_EMAIL = "dana.admin@example.com";
const INVITEE_EMAIL = "eli.invitee@example.com";

/** Logs in (when the route exists) and returns an access token. */
async function login(email: string, password: string): Promise<string | null> {
  if (!serves("POST", "/api/v1/auth/login")) return null;
  const r = await call("POST", "/api/v1/auth/login", { body: { email, password } });
  return typeof r.body.accessToken === "string" ? r.body.accessToken : null;
}

const mass: Record<string, number> = {};

beforeAll(async () => {
  t = await createTestApp();
  for (const p of Object.values(PW)) passwords.add(p);

  // --- accounts -------------------------------------------------------------------------------
  let access: string | null = null;
  let refresh: string | null = null;
  if (serves("POST", "/api/v1/auth/register")) {
    await call("POST", "/api/v1/auth/register", {
      body: { email: ADMIN_EMAIL, password: PW.admin, name: "Dana Admin", organizationName: "Dana Co" },
    });
    // Same address again: same response, owner emailed instead.
    await call("POST", "/api/v1/auth/register", {
      body: { email: ` ${ADMIN_EMAIL.toUpperCase()} `, password: PW.duplicate, name: "Mallory" },
    });
    for (const field of ["role", "orgId", "userId"]) {
      const r = await call("POST", "/api/v1/auth/register", {
        body: {
          email: "mass@example.com",
          password: PW.invitee,
          name: "Mass",
          [field]: field === "role" ? "admin" : "x_1",
        },
      });
      mass[`register.${field}`] = r.status;
    }
  }
  if (serves("POST", "/api/v1/auth/email/verify")) {
    const [verify] = await mailedTokens(ADMIN_EMAIL);
    if (verify) await call("POST", "/api/v1/auth/email/verify", { body: { token: verify } });
  }
  if (serves("POST", "/api/v1/auth/login")) {
    await call("POST", "/api/v1/auth/login", { body: { email: ADMIN_EMAIL, password: PW.wrong } });
    await call("POST", "/api/v1/auth/login", { body: { email: "nobody@example.com", password: PW.wrong } });
    const r = await call("POST", "/api/v1/auth/login", { body: { email: ADMIN_EMAIL, password: PW.admin } });
    access = (r.body.accessToken as string) ?? null;
    refresh = (r.body.refreshToken as string) ?? null;
  }
  if (refresh && serves("POST", "/api/v1/auth/refresh")) {
    const r = await call("POST", "/api/v1/auth/refresh", { body: { refreshToken: refresh } });
    if (typeof r.body.accessToken === "string") access = r.body.accessToken;
    // A second login whose refresh token is replayed after the grace window: reuse detection.
    const other = await call("POST", "/api/v1/auth/login", {
      body: { email: ADMIN_EMAIL, password: PW.admin },
    });
    const stale = other.body.refreshToken as string | undefined;
    if (stale) {
      await call("POST", "/api/v1/auth/refresh", { body: { refreshToken: stale } });
      t.clock.advance(30_000);
      await call("POST", "/api/v1/auth/refresh", { body: { refreshToken: stale } });
    }
  }
  if (!access) {
    // Auth flows are not there yet: carry on as a seeded admin.
    const seeded = await seedMember(t, "admin", { email: ADMIN_EMAIL, password: PW.admin });
    access = seeded.accessToken;
    tokens.add(seeded.accessToken);
    tokens.add(seeded.refreshToken);
  }
  if (serves("GET", "/api/v1/me")) await call("GET", "/api/v1/me", { auth: access });
  if (serves("GET", "/api/v1/auth/sessions")) {
    const spare = await login(ADMIN_EMAIL, PW.admin);
    const list = await call("GET", "/api/v1/auth/sessions", { auth: access });
    const sessions = (list.body.data as { id: string; current?: boolean }[] | undefined) ?? [];
    const victim = sessions.find((s) => !s.current);
    if (victim && serves("DELETE", "/api/v1/auth/sessions/{id}"))
      await call("DELETE", `/api/v1/auth/sessions/${victim.id}`, { auth: access });
    if (spare && serves("POST", "/api/v1/auth/sessions/revoke-others"))
      await call("POST", "/api/v1/auth/sessions/revoke-others", { auth: access });
  }
  if (serves("POST", "/api/v1/auth/email/resend"))
    await call("POST", "/api/v1/auth/email/resend", { auth: access });
  if (serves("POST", "/api/v1/auth/password/forgot")) {
    await call("POST", "/api/v1/auth/password/forgot", { body: { email: "nobody@example.com" } });
    await call("POST", "/api/v1/auth/password/forgot", { body: { email: ADMIN_EMAIL } });
    const mailed = await mailedTokens(ADMIN_EMAIL);
    const reset = mailed[mailed.length - 1];
    if (reset && serves("POST", "/api/v1/auth/password/reset")) {
      const r = await call("POST", "/api/v1/auth/password/reset", {
        body: { token: reset, password: PW.adminReset },
      });
      if (r.status === 200) access = (await login(ADMIN_EMAIL, PW.adminReset)) ?? access;
    }
  }
  if (serves("POST", "/api/v1/auth/password/change")) {
    const current = (await login(ADMIN_EMAIL, PW.adminReset)) ? PW.adminReset : PW.admin;
    const r = await call("POST", "/api/v1/auth/password/change", {
      auth: access,
      body: { currentPassword: current, newPassword: PW.adminChanged },
    });
    if (r.status === 200) access = (await login(ADMIN_EMAIL, PW.adminChanged)) ?? access;
  }

  // --- organization: members and invitations ---------------------------------------------------
  const whoami = await t.platform.db.all<{ orgId: string }>(
    sql`SELECT m.org_id AS orgId FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = ${ADMIN_EMAIL}`,
  );
  const orgId = String(whoami[0]?.orgId);
  if (serves("GET", "/api/v1/orgs/{orgId}")) await call("GET", `/api/v1/orgs/${orgId}`, { auth: access });
  if (serves("POST", "/api/v1/orgs/{orgId}/invitations")) {
    const base = `/api/v1/orgs/${orgId}/invitations`;
    mass["invitation.orgId"] = (
      await call("POST", base, {
        auth: access,
        body: { email: "x@example.com", role: "member", orgId: "org_x" },
      })
    ).status;
    await call("POST", base, { auth: access, body: { email: INVITEE_EMAIL, role: "member" } });
    const spare = await call("POST", base, {
      auth: access,
      body: { email: "spare@example.com", role: "viewer" },
    });
    await mailedTokens("spare@example.com");
    await call("GET", base, { auth: access });
    if (
      typeof spare.body.id === "string" &&
      serves("DELETE", "/api/v1/orgs/{orgId}/invitations/{invitationId}")
    )
      await call("DELETE", `${base}/${spare.body.id}`, { auth: access });
    const [invite] = await mailedTokens(INVITEE_EMAIL);
    if (invite && serves("POST", "/api/v1/auth/register"))
      await call("POST", "/api/v1/auth/register", {
        body: { email: INVITEE_EMAIL, password: PW.invitee, name: "Eli Invitee", invitationToken: invite },
      });
  }
  let inviteeMember: string | undefined;
  if (serves("GET", "/api/v1/orgs/{orgId}/members")) {
    const members = await call("GET", `/api/v1/orgs/${orgId}/members`, { auth: access });
    const data = (members.body.data as { id: string; userId: string; role: string }[] | undefined) ?? [];
    inviteeMember = data.find((m) => m.role !== "admin")?.id;
  }
  if (!inviteeMember) {
    const seeded = await seedMember(t, "member", { orgId, email: INVITEE_EMAIL.replace("eli", "eli2") });
    tokens.add(seeded.accessToken);
    tokens.add(seeded.refreshToken);
    const row = await t.platform.db.all<{ id: string }>(
      sql`SELECT id FROM memberships WHERE user_id = ${seeded.userId}`,
    );
    inviteeMember = String(row[0]?.id);
  }
  if (serves("PATCH", "/api/v1/orgs/{orgId}/members/{memberId}")) {
    const path = `/api/v1/orgs/${orgId}/members/${inviteeMember}`;
    for (const field of ["orgId", "userId", "passwordHash"])
      mass[`member.${field}`] = (
        await call("PATCH", path, { auth: access, body: { role: "manager", [field]: "x_1" } })
      ).status;
    await call("PATCH", path, { auth: access, body: { role: "manager" } });
    if (serves("GET", "/api/v1/orgs/{orgId}/members/{memberId}")) await call("GET", path, { auth: access });
  }

  // --- personal access tokens and agents ------------------------------------------------------
  for (const field of ["role", "orgId", "userId"])
    mass[`token.${field}`] = (
      await call("POST", "/api/v1/tokens", {
        auth: access,
        body: { name: "x", scopes: ["members:read"], [field]: field === "role" ? "admin" : "x_1" },
      })
    ).status;
  const pat = await call("POST", "/api/v1/tokens", {
    auth: access,
    body: { name: "Export", scopes: ["members:read", "audit:read"], expiresAt: "2026-06-01T00:00:00Z" },
  });
  await call("GET", "/api/v1/tokens", { auth: access });
  await call("GET", "/api/v1/audit/verify", { auth: pat.body.token as string });
  if (serves("GET", "/api/v1/orgs/{orgId}/members"))
    await call("GET", `/api/v1/orgs/${orgId}/members`, { auth: pat.body.token as string });
  await t.platform.drain();
  await call("GET", "/api/v1/tokens", { auth: access });
  await call("DELETE", `/api/v1/tokens/${pat.body.id}`, { auth: access });
  for (const field of ["userId", "orgId"])
    mass[`agent.${field}`] = (
      await call("POST", "/api/v1/agents", { auth: access, body: { name: "Box", [field]: "x_1" } })
    ).status;
  const agent = await call("POST", "/api/v1/agents", { auth: access, body: { name: "Dana's laptop" } });
  await call("GET", "/api/v1/agents/me", { auth: agent.body.token as string });
  await call("GET", "/api/v1/agents?all=true", { auth: access });
  await call("GET", "/api/v1/tokens", { auth: agent.body.token as string }); // 403
  await call("DELETE", `/api/v1/agents/${agent.body.id}`, { auth: access });

  // --- two-factor authentication ---------------------------------------------------------------
  if (serves("POST", "/api/v1/auth/2fa/setup")) {
    const email = "tess.twofactor@example.com";
    await call("POST", "/api/v1/auth/register", { body: { email, password: PW.twoFactor, name: "Tess" } });
    const tfa = await login(email, PW.twoFactor);
    const setup = await call("POST", "/api/v1/auth/2fa/setup", { auth: tfa ?? "" });
    const secret = setup.body.secret as string;
    shownOnce.set(secret, "POST /api/v1/auth/2fa/setup");
    const enabled = await call("POST", "/api/v1/auth/2fa/enable", {
      auth: tfa ?? "",
      body: { code: await totpCode(secret, t.clock.now()) },
    });
    for (const c of (enabled.body.backupCodes as string[]) ?? [])
      shownOnce.set(c, "POST /api/v1/auth/2fa/enable");
    await call("GET", "/api/v1/auth/2fa/status", { auth: tfa ?? "" });
    t.clock.advance(30_000);
    const challenge = await call("POST", "/api/v1/auth/login", { body: { email, password: PW.twoFactor } });
    await call("POST", "/api/v1/auth/2fa/verify", {
      body: { challengeToken: challenge.body.challengeToken, code: "000000" },
    });
    await call("POST", "/api/v1/auth/2fa/verify", {
      body: { challengeToken: challenge.body.challengeToken, code: await totpCode(secret, t.clock.now()) },
    });
    const regenerated = await call("POST", "/api/v1/auth/2fa/backup-codes", {
      auth: tfa ?? "",
      body: { password: PW.twoFactor },
    });
    for (const c of (regenerated.body.backupCodes as string[]) ?? [])
      shownOnce.set(c, "POST /api/v1/auth/2fa/backup-codes");
    const backup = (regenerated.body.backupCodes as string[])?.[0];
    await call("POST", "/api/v1/auth/2fa/disable", {
      auth: tfa ?? "",
      body: { password: PW.twoFactor, code: backup },
    });
  }

  // --- audit, errors, logout -------------------------------------------------------------------
  let cursor: string | null = null;
  do {
    const r = await call("GET", `/api/v1/audit?limit=20${cursor ? `&cursor=${cursor}` : ""}`, {
      auth: access,
    });
    cursor = (r.body.nextCursor as string | null) ?? null;
  } while (cursor);
  await call("GET", "/api/v1/audit/verify", { auth: access });
  await call("GET", "/api/v1/tokens", { auth: "ttp_not-a-real-token-0000000000000000000000000" });
  await call("GET", "/api/v1/nope", { auth: access });
  if (serves("POST", "/api/v1/auth/logout")) await call("POST", "/api/v1/auth/logout", { auth: access });
  await t.platform.drain();
});

afterAll(() => t.close());

/** Every hash the database holds: none may appear in a response or an audit row. */
async function storedHashes(): Promise<string[]> {
  const out: string[] = [];
  for (const [table, column] of [
    ["users", "password_hash"],
    ["api_tokens", "token_hash"],
    ["refresh_tokens", "token_hash"],
    ["verification_tokens", "token_hash"],
    ["invitations", "token_hash"],
    ["mfa_challenges", "token_hash"],
    ["backup_codes", "code_hash"],
  ] as const) {
    const rows = await t.platform.db.all<{ h: string | null }>(
      sql.raw(`SELECT ${column} AS h FROM ${table}`),
    );
    for (const r of rows) if (r.h) out.push(String(r.h));
  }
  return out;
}

const SECRET_KEYS = new Set([
  "password",
  "passwordHash",
  "password_hash",
  "tokenHash",
  "token_hash",
  "secret",
]);

function secretKeys(v: Json, path = "$"): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => secretKeys(x, `${path}[${i}]`));
  if (v && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => [
      ...(SECRET_KEYS.has(k) ? [`${path}.${k}`] : []),
      ...secretKeys(x, `${path}.${k}`),
    ]);
  return [];
}

describe("no secrets in responses (every JSON response of the flows)", () => {
  test("the flows ran: responses recorded, credentials collected", () => {
    expect(recorded.length).toBeGreaterThan(20);
    expect([...tokens].some((x) => x.startsWith("ttp_"))).toBe(true);
    expect([...tokens].some((x) => x.startsWith("tta_"))).toBe(true);
    expect(recorded.some((r) => r.call.startsWith("GET /api/v1/audit?") && r.status === 200)).toBe(true);
  });

  test("every flow whose route exists reached its success status (the scan covers real payloads)", () => {
    const expected: [route: string, call: RegExp, status: number][] = [
      ["POST /api/v1/auth/register", /^POST \/api\/v1\/auth\/register/, 201],
      ["POST /api/v1/auth/email/verify", /^POST \/api\/v1\/auth\/email\/verify/, 200],
      ["POST /api/v1/auth/login", /^POST \/api\/v1\/auth\/login/, 200],
      ["POST /api/v1/auth/refresh", /^POST \/api\/v1\/auth\/refresh/, 200],
      ["GET /api/v1/me", /^GET \/api\/v1\/me /, 200],
      ["GET /api/v1/auth/sessions", /^GET \/api\/v1\/auth\/sessions/, 200],
      ["DELETE /api/v1/auth/sessions/{id}", /^DELETE \/api\/v1\/auth\/sessions\//, 204],
      ["POST /api/v1/auth/password/reset", /^POST \/api\/v1\/auth\/password\/reset/, 200],
      ["POST /api/v1/auth/password/change", /^POST \/api\/v1\/auth\/password\/change/, 200],
      ["POST /api/v1/orgs/{orgId}/invitations", /^POST \/api\/v1\/orgs\/[^/]+\/invitations/, 201],
      ["GET /api/v1/orgs/{orgId}/members", /^GET \/api\/v1\/orgs\/[^/]+\/members /, 200],
      ["PATCH /api/v1/orgs/{orgId}/members/{memberId}", /^PATCH \/api\/v1\/orgs\//, 200],
      ["POST /api/v1/tokens", /^POST \/api\/v1\/tokens/, 201],
      ["DELETE /api/v1/tokens/{id}", /^DELETE \/api\/v1\/tokens\//, 204],
      ["POST /api/v1/agents", /^POST \/api\/v1\/agents/, 201],
      ["GET /api/v1/agents/me", /^GET \/api\/v1\/agents\/me/, 200],
      ["DELETE /api/v1/agents/{id}", /^DELETE \/api\/v1\/agents\//, 204],
      ["GET /api/v1/audit/verify", /^GET \/api\/v1\/audit\/verify/, 200],
      ["POST /api/v1/auth/2fa/setup", /^POST \/api\/v1\/auth\/2fa\/setup/, 200],
      ["POST /api/v1/auth/2fa/enable", /^POST \/api\/v1\/auth\/2fa\/enable/, 200],
      ["POST /api/v1/auth/2fa/verify", /^POST \/api\/v1\/auth\/2fa\/verify/, 200],
      ["POST /api/v1/auth/2fa/backup-codes", /^POST \/api\/v1\/auth\/2fa\/backup-codes/, 200],
      ["POST /api/v1/auth/2fa/disable", /^POST \/api\/v1\/auth\/2fa\/disable/, 200],
    ];
    const missing = expected
      .filter(([route]) => serves(...(route.split(" ") as [string, string])))
      .filter(([, re, status]) => !recorded.some((r) => re.test(r.call) && r.status === status))
      .map(([route, , status]) => `${route} never answered ${status}`);
    expect(missing).toEqual([]);
  });

  test("the key check itself finds a nested secret field", () => {
    expect(secretKeys({ data: [{ id: "x", tokenHash: "abc" }] })).toEqual(["$.data[0].tokenHash"]);
  });

  test("no argon2 hash, no stored token hash, no raw password", async () => {
    const hashes = await storedHashes();
    expect(hashes.length).toBeGreaterThan(3);
    const leaks: string[] = [];
    for (const r of recorded) {
      if (r.text.includes("$argon2")) leaks.push(`${r.call}: argon2 hash`);
      for (const h of hashes) if (r.text.includes(h)) leaks.push(`${r.call}: stored hash ${h.slice(0, 12)}…`);
      for (const p of passwords) if (r.text.includes(p)) leaks.push(`${r.call}: password ${p}`);
    }
    expect(leaks).toEqual([]);
  });

  test("no field named password, passwordHash, tokenHash or secret (except the 2FA setup answer)", () => {
    const found = recorded
      .filter((r) => !r.call.startsWith("POST /api/v1/auth/2fa/setup → 200"))
      .flatMap((r) => secretKeys(r.body).map((k) => `${r.call}: ${k}`));
    expect(found).toEqual([]);
  });

  test("the TOTP secret and backup codes appear only in the response that hands them out", () => {
    expect(shownOnce.size).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const r of recorded)
      for (const [value, owner] of shownOnce)
        if (r.text.includes(value) && !r.call.startsWith(owner)) leaks.push(`${r.call}: ${value}`);
    expect(leaks).toEqual([]);
  });
});

describe("no secrets in the audit log or the logs", () => {
  test("no audit row holds a raw password, token, argon2 hash or stored token hash", async () => {
    const rows = await t.platform.db.all<Record<string, unknown>>(sql`SELECT * FROM audit_log`);
    expect(rows.length).toBeGreaterThan(5);
    const hashes = await storedHashes();
    const leaks: string[] = [];
    for (const row of rows) {
      const text = JSON.stringify(row);
      const label = `${String(row.action)} ${String(row.id)}`;
      if (text.includes("$argon2")) leaks.push(`${label}: argon2 hash`);
      for (const p of passwords) if (text.includes(p)) leaks.push(`${label}: password ${p}`);
      for (const tok of tokens) if (text.includes(tok)) leaks.push(`${label}: token ${tok.slice(0, 8)}…`);
      for (const h of hashes) if (text.includes(h)) leaks.push(`${label}: stored hash ${h.slice(0, 12)}…`);
      for (const v of shownOnce.keys())
        if (text.includes(v)) leaks.push(`${label}: 2FA secret or backup code`);
    }
    expect(leaks).toEqual([]);
  });

  test("no log line holds a raw password or token", () => {
    const text = t.logs.text();
    const leaks = [
      ...[...passwords].filter((p) => text.includes(p)).map((p) => `password ${p}`),
      ...[...tokens].filter((tok) => text.includes(tok)).map((tok) => `token ${tok.slice(0, 8)}…`),
      ...[...shownOnce.keys()].filter((v) => text.includes(v)).map(() => "2FA secret or backup code"),
    ];
    expect(leaks).toEqual([]);
  });
});

describe("unknown body fields are rejected (no mass assignment)", () => {
  const cases = [
    ["register.role", "POST /api/v1/auth/register"],
    ["register.orgId", "POST /api/v1/auth/register"],
    ["register.userId", "POST /api/v1/auth/register"],
    ["token.role", "POST /api/v1/tokens"],
    ["token.orgId", "POST /api/v1/tokens"],
    ["token.userId", "POST /api/v1/tokens"],
    ["agent.userId", "POST /api/v1/agents"],
    ["agent.orgId", "POST /api/v1/agents"],
    ["member.orgId", "PATCH /api/v1/orgs/{orgId}/members/{memberId}"],
    ["member.userId", "PATCH /api/v1/orgs/{orgId}/members/{memberId}"],
    ["member.passwordHash", "PATCH /api/v1/orgs/{orgId}/members/{memberId}"],
    ["invitation.orgId", "POST /api/v1/orgs/{orgId}/invitations"],
  ] as const;
  for (const [key, route] of cases) {
    test(`${key} on ${route} → 422`, () => {
      const [method, path] = route.split(" ") as [string, string];
      if (!serves(method, path)) {
        console.warn(`⚠ ${route} is not served yet: mass-assignment case ${key} not exercised`);
        return;
      }
      expect(mass[key]).toBe(422);
    });
  }
});
