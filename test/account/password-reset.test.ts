import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { verificationTokens } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import {
  auditRows,
  expectAuditFreeOf,
  expectEveryMailHasBothParts,
  linkToken,
  mailTo,
  post,
  userRow,
} from "./support";

const FORGOT = "/api/v1/auth/password/forgot";
const RESET = "/api/v1/auth/password/reset";
const RESEND = "/api/v1/auth/email/resend";
const HOUR = 3_600_000;
const NEW_PASSWORD = "mellow tangerine lighthouse 42";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

/** Asks for a reset and returns the token from the newest reset mail. */
async function forgot(m: SeededMember): Promise<string> {
  expect((await post(t, FORGOT, { email: m.email })).status).toBe(202);
  const mails = await mailTo(t, m.email, "password_reset");
  return linkToken(mails.at(-1)!);
}

async function passwordIs(userId: string, password: string): Promise<boolean> {
  return (await t.platform.passwords.verify((await userRow(t, userId)).passwordHash, password)).ok;
}

describe("forgot password", () => {
  test("unknown and known addresses get identical status and body; only the real user gets mail", async () => {
    const m = await seedMember(t, "member");
    const known = await post(t, FORGOT, { email: `  ${m.email.toUpperCase()} ` });
    const unknown = await post(t, FORGOT, { email: "nobody-here@example.com" });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(known.status);
    const [kb, ub] = [await known.text(), await unknown.text()];
    expect(kb).toBe(ub);
    expect(JSON.parse(kb)).toEqual({ accepted: true });
    expect(known.headers.get("content-type")).toBe(unknown.headers.get("content-type"));

    const mails = await mailTo(t, m.email, "password_reset");
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`${t.platform.config.publicUrl}/reset-password?token=`);
    expect(await mailTo(t, "nobody-here@example.com")).toHaveLength(0);
    const tokens = await t.platform.db.select().from(verificationTokens);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.expiresAt.getTime() - tokens[0]!.createdAt.getTime()).toBe(HOUR);
  });

  test("a malformed address is a 422 naming the field (no lookup involved)", async () => {
    const r = await post(t, FORGOT, { email: "not-an-email" });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe("email");
  });
});

describe("password reset", () => {
  test("sets the password once, revokes every session, mails a confirmation, audits", async () => {
    const m = await seedMember(t, "admin");
    const other = await t.services.sessions.create({ userId: m.userId, orgId: m.orgId });
    // The access token works before the reset (verified user → 409 from resend means authenticated).
    expect((await post(t, RESEND, undefined, m.auth)).status).toBe(409);

    const token = await forgot(m);
    const r = await post(t, RESET, { token, password: NEW_PASSWORD });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ passwordReset: true });
    expect(await passwordIs(m.userId, NEW_PASSWORD)).toBe(true);
    expect(await passwordIs(m.userId, m.password)).toBe(false);
    expect((await userRow(t, m.userId)).passwordChangedAt?.getTime()).toBe(t.clock.now().getTime());

    // Every session is gone: access tokens refused on the next request, refresh tokens dead.
    expect((await post(t, RESEND, undefined, m.auth)).status).toBe(401);
    expect((await post(t, RESEND, undefined, { authorization: `Bearer ${other.accessToken}` })).status).toBe(
      401,
    );
    expect(await t.services.sessions.refresh(m.refreshToken)).toMatchObject({ ok: false, reason: "revoked" });
    expect(await t.services.sessions.list(m.userId)).toHaveLength(0);

    const again = await post(t, RESET, { token, password: "another fine passphrase 7" });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    expect(await passwordIs(m.userId, NEW_PASSWORD)).toBe(true);

    const confirmations = await mailTo(t, m.email, "password_reset_confirmation");
    expect(confirmations).toHaveLength(1);
    expect(confirmations[0]!.text).not.toContain(token);

    const [row] = await auditRows(t, "auth.password_reset");
    expect(row).toMatchObject({ orgId: m.orgId, actorType: "user", actorId: m.userId, targetId: m.userId });
    expect(JSON.parse(row!.metadata)).toEqual({ sessionsRevoked: 2 });
    expect(await auditRows(t, "auth.password_reset_requested")).toHaveLength(1);
    await expectAuditFreeOf(t, [token, NEW_PASSWORD, m.password, m.refreshToken]);
    expect(await expectEveryMailHasBothParts(t)).toBe(2);
  });

  test("expires after 1 hour", async () => {
    const m = await seedMember(t, "member");
    const token = await forgot(m);
    t.clock.advance(HOUR);
    const r = await post(t, RESET, { token, password: NEW_PASSWORD });
    expect(r.status).toBe(400);
    expect(await passwordIs(m.userId, m.password)).toBe(true);

    const fresh = await forgot(m);
    t.clock.advance(HOUR - 1);
    expect((await post(t, RESET, { token: fresh, password: NEW_PASSWORD })).status).toBe(200);
  });

  test("newest token wins: an older one is refused once a new one is issued", async () => {
    const m = await seedMember(t, "member");
    const older = await forgot(m);
    t.clock.advance(1000);
    const newer = await forgot(m);
    expect(newer).not.toBe(older);
    expect((await post(t, RESET, { token: older, password: NEW_PASSWORD })).status).toBe(400);
    expect(await passwordIs(m.userId, m.password)).toBe(true);
    expect((await post(t, RESET, { token: newer, password: NEW_PASSWORD })).status).toBe(200);
  });

  test("two concurrent resets with one token: exactly one succeeds, and its password is the one set", async () => {
    const m = await seedMember(t, "member");
    const token = await forgot(m);
    // Count hashes: both requests must get past the token lookup and hash their password, so it is
    // the atomic claim (not the early lookup) that turns one of them away.
    const hasher = t.platform.passwords;
    let hashes = 0;
    const hash = hasher.hash.bind(hasher);
    hasher.hash = async (p: string) => {
      hashes++;
      return hash(p);
    };
    const passwords = ["violet harbor accordion 31", "granite meadow saxophone 58"];
    const results = await Promise.all(passwords.map((password) => post(t, RESET, { token, password })));
    expect(hashes).toBe(2);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400]);
    const winner = passwords[results.findIndex((r) => r.status === 200)]!;
    expect(await passwordIs(m.userId, winner)).toBe(true);
    expect(await mailTo(t, m.email, "password_reset_confirmation")).toHaveLength(1);
    expect(await auditRows(t, "auth.password_reset")).toHaveLength(1);
    const [row] = await t.platform.db
      .select()
      .from(verificationTokens)
      .where(and(eq(verificationTokens.userId, m.userId), eq(verificationTokens.purpose, "password_reset")));
    expect(row?.usedAt).not.toBeNull();
  });

  test("a password the policy refuses is a 422 naming `password`, and the token stays usable", async () => {
    const m = await seedMember(t, "member", { email: "katherine.johnson@example.com" });
    const token = await forgot(m);
    for (const password of ["short", "password123", "katherine.johnson2024!"]) {
      const r = await post(t, RESET, { token, password });
      expect(r.status).toBe(422);
      const body = (await r.json()) as { code: string; errors: { path: string }[] };
      expect(body.code).toBe("PASSWORD_REJECTED");
      expect(body.errors.every((e) => e.path === "password")).toBe(true);
    }
    expect(await passwordIs(m.userId, m.password)).toBe(true);
    expect((await post(t, RESET, { token, password: NEW_PASSWORD })).status).toBe(200);
  });

  test("mail per address is capped silently: the answer stays 202", async () => {
    const m = await seedMember(t, "member");
    for (let i = 0; i < 5; i++) {
      await t.platform.rateLimiter.reset("rl:password-forgot:ip:unknown");
      expect((await post(t, FORGOT, { email: m.email })).status).toBe(202);
    }
    await t.platform.rateLimiter.reset("rl:password-forgot:ip:unknown");
    expect((await post(t, FORGOT, { email: m.email })).status).toBe(202);
    expect(await mailTo(t, m.email, "password_reset")).toHaveLength(5);
  });

  test("forgot is limited to 5 per hour per IP", async () => {
    for (let i = 0; i < 5; i++)
      expect((await post(t, FORGOT, { email: `x${i}@example.com` })).status).toBe(202);
    const r = await post(t, FORGOT, { email: "x9@example.com" });
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBeTruthy();
  });
});
