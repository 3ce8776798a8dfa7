import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { apiTokens, auditLog, memberships } from "../../src/db/schema";
import { PAT_SCOPES } from "../../src/modules/tokens/tokens.service";
import type { TestApp } from "../support/app";
import { changeRoleAsAdmin, seedMember } from "../support/identity";
import { bearer, createPat, createTokensApp, json } from "./support";

let t: TestApp;
beforeEach(async () => {
  t = await createTokensApp();
});
afterEach(() => t.close());

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const get = (path: string, headers: Record<string, string>) => t.app.request(path, { headers });

describe("creating a personal access token", () => {
  test("201 with the secret once, `ttp_` prefix, scopes sorted, audited without the secret", async () => {
    const m = await seedMember(t, "member");
    const res = await t.app.request(
      "/api/v1/tokens",
      json({ name: "  Payroll export ", scopes: ["reports:read", "members:read", "reports:read"] }, m.auth),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      id: expect.stringMatching(/^tok_/),
      name: "Payroll export",
      scopes: ["members:read", "reports:read"],
      token: expect.stringMatching(/^ttp_[A-Za-z0-9_-]{43}$/),
      prefix: (body.token as string).slice(0, 12),
      createdAt: t.clock.now().toISOString(),
      lastUsedAt: null,
      expiresAt: null,
    });

    const rows = await t.platform.db.select().from(auditLog).where(eq(auditLog.action, "token.created"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      orgId: m.orgId,
      actorType: "user",
      actorId: m.userId,
      targetId: body.id,
    });
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain(body.token as string);
    expect(stored).not.toContain(sha256(body.token as string));
    expect(JSON.parse(rows[0]!.metadata)).toEqual({
      name: "Payroll export",
      ownerId: m.userId,
      scopes: ["members:read", "reports:read"],
      expiresAt: null,
    });
  });

  test("the allow-list is `<area>:read|write` for every permission area, and nothing else", async () => {
    expect([...PAT_SCOPES] as string[]).toEqual(
      [
        "activity",
        "audit",
        "data",
        "invitations",
        "members",
        "org",
        "own",
        "projects",
        "reports",
        "screenshots",
        "time",
      ].flatMap((a) => [`${a}:read`, `${a}:write`]),
    );
    const m = await seedMember(t, "admin");
    for (const scopes of [[], ["*"], ["ingest"], ["members:admin"], ["timesheets:read"], "members:read"]) {
      const res = await t.app.request("/api/v1/tokens", json({ name: "x", scopes }, m.auth));
      expect(res.status, JSON.stringify(scopes)).toBe(422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors[0]?.path).toMatch(/^scopes/);
    }
  });

  test("unknown fields, bad names and bad expiry are 422 naming the field", async () => {
    const m = await seedMember(t, "member");
    const cases: [unknown, string][] = [
      [{ name: "x", scopes: ["own:read"], role: "admin" }, "role"],
      [{ name: "x", scopes: ["own:read"], userId: "usr_x" }, "userId"],
      [{ name: "x", scopes: ["own:read"], orgId: "org_x" }, "orgId"],
      [{ name: "x", scopes: ["own:read"], kind: "agent" }, "kind"],
      [{ name: "   ", scopes: ["own:read"] }, "name"],
      [{ name: "a\u0000b", scopes: ["own:read"] }, "name"],
      [{ name: "x".repeat(101), scopes: ["own:read"] }, "name"],
      [{ name: "x", scopes: ["own:read"], expiresAt: "tomorrow" }, "expiresAt"],
      [{ name: "x", scopes: ["own:read"], expiresAt: "2026-01-05T08:59:59Z" }, "expiresAt"],
      [{ name: "x", scopes: ["own:read"], expiresAt: "2027-01-05T09:00:00.001Z" }, "expiresAt"],
    ];
    for (const [body, field] of cases) {
      const res = await t.app.request("/api/v1/tokens", json(body, m.auth));
      expect(res.status, JSON.stringify(body)).toBe(422);
      const problem = (await res.json()) as { code: string; errors: { path: string }[] };
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.errors.map((e) => e.path)).toContain(field);
    }
    // Exactly one year ahead is the limit, and allowed.
    const ok = await createPat(t, m, { scopes: ["own:read"], expiresAt: "2027-01-05T09:00:00.000Z" });
    expect(ok.expiresAt).toBe("2027-01-05T09:00:00.000Z");
    expect(await t.platform.db.select().from(apiTokens)).toHaveLength(1);
  });

  test("only a signed-in session may create, list or revoke tokens (a PAT cannot mint PATs)", async () => {
    const m = await seedMember(t, "admin");
    const pat = await createPat(t, m, { scopes: [...PAT_SCOPES] });
    const create = await t.app.request(
      "/api/v1/tokens",
      json({ name: "y", scopes: ["own:read"] }, bearer(pat.token)),
    );
    expect(create.status).toBe(403);
    expect(((await create.json()) as { code: string }).code).toBe("SESSION_REQUIRED");
    expect((await get("/api/v1/tokens", bearer(pat.token))).status).toBe(403);
    const del = await t.app.request(`/api/v1/tokens/${pat.id}`, {
      method: "DELETE",
      headers: bearer(pat.token),
    });
    expect(del.status).toBe(403);
    const agent = await t.app.request("/api/v1/agents", json({ name: "x" }, bearer(pat.token)));
    expect(agent.status).toBe(403);
    expect(await t.platform.db.select().from(apiTokens)).toHaveLength(1);
    // Anonymous: 401.
    expect((await t.app.request("/api/v1/tokens", json({ name: "y", scopes: ["own:read"] }))).status).toBe(
      401,
    );
    expect((await get("/api/v1/tokens", {})).status).toBe(401);
  });
});

describe("using a personal access token", () => {
  test("authenticates a members:read route as its owner, in its organization", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    const res = await get("/api/v1/_probe/members", bearer(pat.token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kind: "pat", userId: m.userId, orgId: m.orgId });
  });

  test("is stored only as its SHA-256: no column holds the secret", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    const [row] = await t.platform.db.select().from(apiTokens).where(eq(apiTokens.id, pat.id));
    expect(row?.tokenHash).toBe(sha256(pat.token));
    expect(row?.prefix).toBe(pat.prefix);
    expect(JSON.stringify(row)).not.toContain(pat.token);
    // The raw SQLite row too (no column drizzle does not map).
    const raw = await t.platform.db.all(sql`SELECT * FROM api_tokens`);
    expect(raw).toHaveLength(1);
    expect(JSON.stringify(raw)).not.toContain(pat.token);
  });

  test("is shown once: the list never carries the secret or its hash", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    const res = await get("/api/v1/tokens", m.auth);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(pat.token);
    expect(text).not.toContain(sha256(pat.token));
    const body = JSON.parse(text) as { data: Record<string, unknown>[]; nextCursor: string | null };
    expect(body.nextCursor).toBeNull();
    expect(body.data).toEqual([
      {
        id: pat.id,
        name: "CI",
        scopes: ["members:read"],
        prefix: pat.prefix,
        createdAt: pat.createdAt,
        lastUsedAt: null,
        expiresAt: null,
      },
    ]);
  });

  test("records lastUsedAt (after the response, at most once a minute)", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    const lastUsed = async () => {
      await t.platform.drain();
      const body = (await (await get("/api/v1/tokens", m.auth)).json()) as { data: { lastUsedAt: string }[] };
      return body.data[0]?.lastUsedAt;
    };
    t.clock.advance(5_000);
    const first = t.clock.now().toISOString();
    expect((await get("/api/v1/_probe/members", bearer(pat.token))).status).toBe(200);
    expect(await lastUsed()).toBe(first);
    t.clock.advance(30_000);
    await get("/api/v1/_probe/members", bearer(pat.token));
    expect(await lastUsed()).toBe(first);
    t.clock.advance(60_000);
    await get("/api/v1/_probe/members", bearer(pat.token));
    expect(await lastUsed()).toBe(t.clock.now().toISOString());
  });

  test("expires at expiresAt (injected clock)", async () => {
    const m = await seedMember(t, "member");
    const expiresAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const pat = await createPat(t, m, { scopes: ["members:read"], expiresAt });
    expect(pat.expiresAt).toBe(expiresAt);
    t.clock.advance(3_599_999);
    expect((await get("/api/v1/_probe/members", bearer(pat.token))).status).toBe(200);
    t.clock.advance(1);
    const res = await get("/api/v1/_probe/members", bearer(pat.token));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  test("a scope outside the token's is 403 INSUFFICIENT_SCOPE; read does not imply write", async () => {
    const m = await seedMember(t, "manager");
    const reports = await createPat(t, m, { scopes: ["reports:read"] });
    expect((await get("/api/v1/_probe/reports", bearer(reports.token))).status).toBe(200);
    const res = await get("/api/v1/_probe/members", bearer(reports.token));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("INSUFFICIENT_SCOPE");

    const readOnly = await createPat(t, m, { scopes: ["members:read"] });
    const write = await t.app.request("/api/v1/_probe/members", json({}, bearer(readOnly.token)));
    expect(write.status).toBe(403);
    expect(((await write.json()) as { code: string }).code).toBe("INSUFFICIENT_SCOPE");
  });

  test("never exceeds its owner's role: a member's `members:write` token is refused on a manager route", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read", "members:write"] });
    const res = await t.app.request("/api/v1/_probe/members", json({}, bearer(pat.token)));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("FORBIDDEN");
    // The role is read per request: promoted, the same token passes; demoted again, it is refused.
    await changeRoleAsAdmin(t, m, "manager");
    expect((await t.app.request("/api/v1/_probe/members", json({}, bearer(pat.token)))).status).toBe(200);
    await changeRoleAsAdmin(t, m, "viewer");
    expect((await t.app.request("/api/v1/_probe/members", json({}, bearer(pat.token)))).status).toBe(403);
  });
});

describe("on the real organization routes", () => {
  test("GET members with `members:read` works; a member's `members:write` PATCH is 403; a manager needs the scope", async () => {
    const served = (method: string, path: string) =>
      t.app.routes.some((r) => r.method === method && r.path === path);
    if (!served("PATCH", "/api/v1/orgs/:orgId/members/:memberId")) {
      console.warn(
        "⚠ PATCH /api/v1/orgs/{orgId}/members/{memberId} is not served yet: real-route case skipped",
      );
      return;
    }
    const member = await seedMember(t, "member");
    const manager = await seedMember(t, "manager", { orgId: member.orgId });
    const target = await seedMember(t, "viewer", { orgId: member.orgId });
    const [row] = await t.platform.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(eq(memberships.userId, target.userId));
    const path = `/api/v1/orgs/${member.orgId}/members/${row!.id}`;
    const patch = (token: string) =>
      t.app.request(path, { ...json({ role: "member" }, bearer(token)), method: "PATCH" });

    const memberPat = await createPat(t, member, { scopes: ["members:read", "members:write"] });
    expect((await get(`/api/v1/orgs/${member.orgId}/members`, bearer(memberPat.token))).status).toBe(200);
    const refused = await patch(memberPat.token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("FORBIDDEN");

    const managerRead = await createPat(t, manager, { scopes: ["members:read"] });
    const noScope = await patch(managerRead.token);
    expect(noScope.status).toBe(403);
    expect(((await noScope.json()) as { code: string }).code).toBe("INSUFFICIENT_SCOPE");
    const managerWrite = await createPat(t, manager, { scopes: ["members:write"] });
    expect((await patch(managerWrite.token)).status).toBe(200);
    // Another organization's id: 404, never 403.
    const stranger = await seedMember(t, "admin");
    const strangerPat = await createPat(t, stranger, { scopes: ["members:read"] });
    expect((await get(`/api/v1/orgs/${member.orgId}/members`, bearer(strangerPat.token))).status).toBe(404);
  });
});

describe("listing and revoking", () => {
  test("the list shows only your own tokens, newest first, with a cursor and Link header", async () => {
    const m = await seedMember(t, "member");
    const other = await seedMember(t, "admin", { orgId: m.orgId });
    await createPat(t, other, { scopes: ["own:read"] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await createPat(t, m, { name: `t${i}`, scopes: ["own:read"] })).id);
      t.clock.advance(1000);
    }
    const first = await get("/api/v1/tokens?limit=2", m.auth);
    const p1 = (await first.json()) as { data: { id: string }[]; nextCursor: string };
    expect(p1.data.map((d) => d.id)).toEqual([ids[2]!, ids[1]!]);
    expect(first.headers.get("link")).toContain('rel="next"');
    const p2 = (await (await get(`/api/v1/tokens?limit=2&cursor=${p1.nextCursor}`, m.auth)).json()) as {
      data: { id: string }[];
      nextCursor: string | null;
    };
    expect(p2.data.map((d) => d.id)).toEqual([ids[0]!]);
    expect(p2.nextCursor).toBeNull();
    expect((await get("/api/v1/tokens?cursor=garbage", m.auth)).status).toBe(422);
  });

  test("revoke: 204, refused (401) on its next request, gone from the list, audited", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    expect((await get("/api/v1/_probe/members", bearer(pat.token))).status).toBe(200);
    const del = await t.app.request(`/api/v1/tokens/${pat.id}`, { method: "DELETE", headers: m.auth });
    expect(del.status).toBe(204);
    expect((await get("/api/v1/_probe/members", bearer(pat.token))).status).toBe(401);
    const list = (await (await get("/api/v1/tokens", m.auth)).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    const [row] = await t.platform.db.select().from(apiTokens).where(eq(apiTokens.id, pat.id));
    expect(row?.revokedAt?.toISOString()).toBe(t.clock.now().toISOString());
    const audit = await t.platform.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "token.revoked"), eq(auditLog.targetId, pat.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ orgId: m.orgId, actorId: m.userId, actorType: "user" });
    // Again: already gone.
    expect(
      (await t.app.request(`/api/v1/tokens/${pat.id}`, { method: "DELETE", headers: m.auth })).status,
    ).toBe(404);
  });

  test("another user's token is 404 (same organization or another), and keeps working", async () => {
    const owner = await seedMember(t, "member");
    const admin = await seedMember(t, "admin", { orgId: owner.orgId });
    const stranger = await seedMember(t, "admin");
    const pat = await createPat(t, owner, { scopes: ["members:read"] });
    for (const who of [admin, stranger]) {
      const res = await t.app.request(`/api/v1/tokens/${pat.id}`, { method: "DELETE", headers: who.auth });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe("TOKEN_NOT_FOUND");
    }
    expect((await get("/api/v1/_probe/members", bearer(pat.token))).status).toBe(200);
  });
});
