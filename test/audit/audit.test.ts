import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { auditLog } from "../../src/db/schema";
import { type AuditEntry, AuditService } from "../../src/modules/audit/audit.service";
import { PAT_SCOPES } from "../../src/modules/tokens/tokens.service";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import { bearer, createPat, json } from "../tokens/support";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

interface AuditRowJson {
  id: string;
  seq: number;
  orgId: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  prevHash: string;
  hash: string;
}
interface Page {
  data: AuditRowJson[];
  nextCursor: string | null;
}

const get = (path: string, headers: Record<string, string>) => t.app.request(path, { headers });

async function page(path: string, who: SeededMember): Promise<Page> {
  const res = await get(path, who.auth);
  expect(res.status, path).toBe(200);
  return (await res.json()) as Page;
}

function entry(orgId: string, action: string, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { orgId, actorType: "user", actorId: "usr_a", action, metadata: { n: action }, ...extra };
}

describe("audit rows", () => {
  test("carry organization, actor, action, target, IP, user agent and request id of the request", async () => {
    const admin = await seedMember(t, "admin");
    const res = await t.app.request(
      "/api/v1/tokens",
      json(
        { name: "export", scopes: ["audit:read"] },
        { ...admin.auth, "user-agent": "audit-test/1.0", "x-request-id": "req-audit-123" },
      ),
      { ip: "203.0.113.9" },
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string };
    const body = await page("/api/v1/audit?action=token.created", admin);
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toEqual({
      id: expect.stringMatching(/^aud_/),
      seq: 1,
      orgId: admin.orgId,
      actorType: "user",
      actorId: admin.userId,
      action: "token.created",
      targetType: "api_token",
      targetId: created.id,
      ip: "203.0.113.9",
      userAgent: "audit-test/1.0",
      requestId: "req-audit-123",
      metadata: { name: "export", ownerId: admin.userId, scopes: ["audit:read"], expiresAt: null },
      createdAt: t.clock.now().toISOString(),
      prevHash: "0".repeat(64),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test("are queryable by admins only (and admin tokens with audit:read)", async () => {
    const admin = await seedMember(t, "admin");
    for (const role of ["manager", "member", "viewer"] as const) {
      const m = await seedMember(t, role, { orgId: admin.orgId });
      for (const path of ["/api/v1/audit", "/api/v1/audit/verify"]) {
        const res = await get(path, m.auth);
        expect(res.status, `${role} ${path}`).toBe(403);
      }
    }
    expect((await get("/api/v1/audit", {})).status).toBe(401);
    expect((await get("/api/v1/audit/verify", {})).status).toBe(401);
    const withScope = await createPat(t, admin, { scopes: ["audit:read"] });
    expect((await get("/api/v1/audit", bearer(withScope.token))).status).toBe(200);
    expect((await get("/api/v1/audit/verify", bearer(withScope.token))).status).toBe(200);
    const without = await createPat(t, admin, { scopes: PAT_SCOPES.filter((s) => !s.startsWith("audit:")) });
    const res = await get("/api/v1/audit", bearer(without.token));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("INSUFFICIENT_SCOPE");
  });

  test("filters: action (exact or `area.*`), actor, target, from/to; only the caller's organization", async () => {
    const admin = await seedMember(t, "admin");
    const other = await seedMember(t, "admin");
    const { audit } = t.services;
    const t0 = t.clock.now();
    await audit.record(entry(admin.orgId, "auth.login", { actorId: "usr_1" }));
    t.clock.advance(60_000);
    await audit.record(entry(admin.orgId, "auth.login_failed", { actorId: "usr_2", targetId: "usr_1" }));
    t.clock.advance(60_000);
    await audit.record(entry(admin.orgId, "member.role_changed", { actorId: "usr_1", targetId: "mem_9" }));
    t.clock.advance(60_000);
    await audit.record(entry(admin.orgId, "authz_x.thing", { actorId: "usr_1" }));
    await audit.record(entry(other.orgId, "auth.login", { actorId: "usr_1" }));
    const actions = async (q: string) => (await page(`/api/v1/audit?${q}`, admin)).data.map((r) => r.action);

    expect(await actions("")).toEqual([
      "authz_x.thing",
      "member.role_changed",
      "auth.login_failed",
      "auth.login",
    ]);
    expect(await actions("action=auth.login")).toEqual(["auth.login"]);
    expect(await actions("action=auth.*")).toEqual(["auth.login_failed", "auth.login"]);
    expect(await actions("actorId=usr_1")).toEqual(["authz_x.thing", "member.role_changed", "auth.login"]);
    expect(await actions("targetId=usr_1")).toEqual(["auth.login_failed"]);
    const at = (ms: number) => new Date(t0.getTime() + ms).toISOString();
    expect(await actions(`from=${at(60_000)}`)).toEqual([
      "authz_x.thing",
      "member.role_changed",
      "auth.login_failed",
    ]);
    expect(await actions(`to=${at(60_000)}`)).toEqual(["auth.login"]);
    expect(await actions(`from=${at(60_000)}&to=${at(120_001)}&actorId=usr_1`)).toEqual([
      "member.role_changed",
    ]);
    // The other organization sees only its own row.
    const theirs = await page("/api/v1/audit", other);
    expect(theirs.data.map((r) => [r.orgId, r.action])).toEqual([[other.orgId, "auth.login"]]);

    expect((await get("/api/v1/audit?from=yesterday", admin.auth)).status).toBe(422);
    expect((await get(`/api/v1/audit?from=${at(2)}&to=${at(1)}`, admin.auth)).status).toBe(422);
    expect((await get("/api/v1/audit?cursor=not-a-cursor", admin.auth)).status).toBe(422);
    expect((await get("/api/v1/audit?limit=101", admin.auth)).status).toBe(422);
  });

  test("cursor pagination walks every row once, newest first (keyset on seq)", async () => {
    const admin = await seedMember(t, "admin");
    for (let i = 1; i <= 7; i++) await t.services.audit.record(entry(admin.orgId, `test.e${i}`));
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ""}`, admin.auth);
      const body = (await res.json()) as Page;
      if (body.nextCursor) expect(res.headers.get("link")).toContain('rel="next"');
      seen.push(...body.data.map((r) => r.seq));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    // Rows written while paging do not shift the pages already being walked.
    const first = await page("/api/v1/audit?limit=3", admin);
    await t.services.audit.record(entry(admin.orgId, "test.late"));
    const second = await page(`/api/v1/audit?limit=3&cursor=${first.nextCursor}`, admin);
    expect(second.data.map((r) => r.seq)).toEqual([4, 3, 2]);
    // Filters hold across pages.
    const filtered = await page("/api/v1/audit?limit=1&action=test.e3", admin);
    expect(filtered.data.map((r) => r.action)).toEqual(["test.e3"]);
    expect(filtered.nextCursor).toBeNull();
  });
});

describe("hash chain", () => {
  async function seedChain(orgId: string, n: number) {
    for (let i = 1; i <= n; i++) {
      await t.services.audit.record(entry(orgId, `test.e${i}`));
      t.clock.advance(1000);
    }
    return t.platform.db.select().from(auditLog).where(eq(auditLog.orgId, orgId)).orderBy(auditLog.seq);
  }

  test("verifies, then detects a row edited in the database", async () => {
    const admin = await seedMember(t, "admin");
    const rows = await seedChain(admin.orgId, 5);
    const ok = await get("/api/v1/audit/verify", admin.auth);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, checked: 5 });

    await t.platform.db.run(
      sql`UPDATE audit_log SET metadata = ${JSON.stringify({ n: "forged" })} WHERE id = ${rows[2]!.id}`,
    );
    const res = await get("/api/v1/audit/verify", admin.auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: false,
      checked: 2,
      brokenAt: { id: rows[2]!.id, seq: 3, reason: "hash mismatch" },
    });
  });

  test("detects an edit that also recomputes nothing but the row's own hash (the next link breaks)", async () => {
    const admin = await seedMember(t, "admin");
    const rows = await seedChain(admin.orgId, 4);
    const { rowHash } = await import("../../src/modules/audit/audit.service");
    const { hash: _old, ...rest } = rows[1]!;
    const forged = { ...rest, action: "test.innocent" };
    await t.platform.db
      .update(auditLog)
      .set({ action: forged.action, hash: await rowHash(forged) })
      .where(eq(auditLog.id, rows[1]!.id));
    const body = (await (await get("/api/v1/audit/verify", admin.auth)).json()) as {
      brokenAt: { id: string; seq: number; reason: string };
    };
    expect(body.brokenAt).toEqual({ id: rows[2]!.id, seq: 3, reason: "link mismatch" });
  });

  test("detects a deleted row as a sequence gap", async () => {
    const admin = await seedMember(t, "admin");
    const rows = await seedChain(admin.orgId, 5);
    await t.platform.db.run(sql`DELETE FROM audit_log WHERE id = ${rows[1]!.id}`);
    expect(await (await get("/api/v1/audit/verify", admin.auth)).json()).toEqual({
      ok: false,
      checked: 1,
      brokenAt: { id: rows[2]!.id, seq: 3, reason: "sequence gap" },
    });
  });

  test("each organization has its own chain: tampering in one does not implicate another", async () => {
    const a = await seedMember(t, "admin");
    const b = await seedMember(t, "admin");
    await seedChain(a.orgId, 3);
    const bRows = await seedChain(b.orgId, 3);
    await t.platform.db.run(sql`UPDATE audit_log SET ip = '6.6.6.6' WHERE id = ${bRows[0]!.id}`);
    expect(await (await get("/api/v1/audit/verify", a.auth)).json()).toEqual({ ok: true, checked: 3 });
    expect(((await (await get("/api/v1/audit/verify", b.auth)).json()) as { ok: boolean }).ok).toBe(false);
  });

  test("30 concurrent record() calls for one organization make a gapless chain that verifies", async () => {
    const admin = await seedMember(t, "admin");
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => t.services.audit.record(entry(admin.orgId, `test.c${i}`))),
    );
    const rows = await t.platform.db
      .select({ seq: auditLog.seq, action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.orgId, admin.orgId))
      .orderBy(auditLog.seq);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.action)).size).toBe(30);
    expect(await (await get("/api/v1/audit/verify", admin.auth)).json()).toEqual({ ok: true, checked: 30 });
    expect(await t.services.audit.verify(admin.orgId)).toEqual({ ok: true, checked: 30 });
    const lost = await t.platform.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, admin.orgId), eq(auditLog.seq, 31)));
    expect(lost).toEqual([]);
  });

  test("two service instances on one database (two app instances) interleave into one valid chain", async () => {
    const admin = await seedMember(t, "admin");
    const { db, clock, logger } = t.platform;
    const second = new AuditService({ db, clock, logger });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? second : t.services.audit).record(entry(admin.orgId, `test.i${i}`)),
      ),
    );
    expect(await t.services.audit.verify(admin.orgId)).toEqual({ ok: true, checked: 30 });
  });
});
