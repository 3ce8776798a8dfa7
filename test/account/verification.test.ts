import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users, verificationTokens } from "../../src/db/schema";
import { sendExistingAccountNotice, sendVerificationEmail } from "../../src/modules/account/account.service";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import {
  auditRows,
  expectAuditFreeOf,
  expectEveryMailHasBothParts,
  linkToken,
  mailDeps,
  mailTo,
  post,
  seedUnverified,
  userRow,
} from "./support";

const VERIFY = "/api/v1/auth/email/verify";
const RESEND = "/api/v1/auth/email/resend";
const HOUR = 3_600_000;

let t: TestApp;
beforeEach(async () => {
  // The per-user resend throttle is tested here; the per-IP one (spec 2.5) in test/security/rate-limits.
  t = await createTestApp({ RATE_LIMIT_VERIFY_RESEND: "1000/1h" });
});
afterEach(async () => {
  await t.close();
});

async function issue(m: { userId: string; email: string }) {
  await sendVerificationEmail(mailDeps(t), { id: m.userId, email: m.email, name: "Ada <Admin>" });
  const mails = await mailTo(t, m.email, "verification");
  const mail = mails.at(-1);
  if (!mail) throw new Error("no verification mail");
  return { mail, token: linkToken(mail) };
}

describe("email verification", () => {
  test("the emailed link verifies once; only the token's SHA-256 is stored", async () => {
    const m = await seedUnverified(t);
    const { mail, token } = await issue(m);
    expect(token.length).toBeGreaterThanOrEqual(43); // 32 bytes, base64url
    expect(mail.text).toContain(`${t.platform.config.publicUrl}/verify-email?token=${token}`);
    expect(mail.html).toContain("Ada &lt;Admin&gt;");
    expect(mail.html).not.toContain("<Admin>");

    const rows = await t.platform.db
      .select()
      .from(verificationTokens)
      .where(eq(verificationTokens.userId, m.userId));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.purpose).toBe("email_verify");
    expect(rows[0]?.tokenHash).toBe(new Bun.CryptoHasher("sha256").update(token).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(48 * HOUR);

    const ok = await post(t, VERIFY, { token });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ verified: true });
    expect((await userRow(t, m.userId)).emailVerifiedAt?.getTime()).toBe(t.clock.now().getTime());

    const again = await post(t, VERIFY, { token });
    expect(again.status).toBe(400);
    const problem = (await again.json()) as { code: string };
    expect(problem.code).toBe("INVALID_TOKEN");
    expect(again.headers.get("content-type")).toContain("application/problem+json");

    const audited = await auditRows(t, "email.verified");
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({
      actorType: "user",
      actorId: m.userId,
      targetId: m.userId,
      orgId: m.orgId,
    });
    await expectAuditFreeOf(t, [token]);
    expect(await expectEveryMailHasBothParts(t)).toBe(1);
  });

  test("expires after 48 hours; unknown, used and expired tokens get the same answer", async () => {
    const m = await seedUnverified(t);
    const early = await issue(m);
    t.clock.advance(48 * HOUR - 1);
    const late = await issue(m);
    expect((await post(t, VERIFY, { token: early.token })).status).toBe(200); // 1 ms before expiry

    t.clock.advance(48 * HOUR);
    const expired = await post(t, VERIFY, { token: late.token });
    const unknown = await post(t, VERIFY, { token: "x".repeat(43) });
    const used = await post(t, VERIFY, { token: early.token });
    const bodies = await Promise.all(
      [expired, unknown, used].map(async (r) => {
        const { requestId: _, ...rest } = (await r.json()) as Record<string, unknown>;
        return { status: r.status, ...rest };
      }),
    );
    expect(bodies[0]).toMatchObject({ status: 400, code: "INVALID_TOKEN" });
    expect(bodies[1]).toEqual(bodies[0]!);
    expect(bodies[2]).toEqual(bodies[0]!);
  });

  test("a token for an address the user no longer has is refused", async () => {
    const m = await seedUnverified(t);
    const { token } = await issue(m);
    await t.platform.db.update(users).set({ email: "changed@example.com" }).where(eq(users.id, m.userId));
    expect((await post(t, VERIFY, { token })).status).toBe(400);
    expect((await userRow(t, m.userId)).emailVerifiedAt).toBeNull();
  });

  test("verifying retires the user's other open verification links", async () => {
    const m = await seedUnverified(t);
    const first = await issue(m);
    const second = await issue(m);
    expect((await post(t, VERIFY, { token: second.token })).status).toBe(200);
    expect((await post(t, VERIFY, { token: first.token })).status).toBe(400);
  });

  test("bodies are validated: unknown fields and missing token are 422", async () => {
    expect((await post(t, VERIFY, { token: "abc", userId: "usr_x" })).status).toBe(422);
    expect((await post(t, VERIFY, {})).status).toBe(422);
  });
});

describe("resend verification", () => {
  test("throttled to 1 per 60 s and 5 per hour, with Retry-After", async () => {
    const m = await seedUnverified(t);
    let auth = m.auth;
    const resend = () => post(t, RESEND, undefined, auth);

    const first = await resend();
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ accepted: true });
    expect(await mailTo(t, m.email, "verification")).toHaveLength(1);

    const tooSoon = await resend();
    expect(tooSoon.status).toBe(429);
    expect((await tooSoon.json()) as object).toMatchObject({ code: "RATE_LIMITED" });
    expect(Number(tooSoon.headers.get("retry-after"))).toBe(60);
    t.clock.advance(30_000);
    expect(Number((await resend()).headers.get("retry-after"))).toBe(30);

    for (let i = 2; i <= 5; i++) {
      t.clock.advance(60_000);
      expect((await resend()).status).toBe(202);
    }
    expect(await mailTo(t, m.email, "verification")).toHaveLength(5);

    t.clock.advance(60_000); // minute rule passes, the hourly one does not
    const hourly = await resend();
    expect(hourly.status).toBe(429);
    const wait = Number(hourly.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(60);
    expect(wait).toBeLessThanOrEqual(3600);

    t.clock.advance(wait * 1000);
    // The 15-minute access token has expired by now: refresh the session, as a client would.
    const r = await t.services.sessions.refresh(m.refreshToken);
    if (!r.ok) throw new Error("refresh failed");
    auth = { authorization: `Bearer ${r.tokens.accessToken}` };
    expect((await resend()).status).toBe(202);
    const mails = await mailTo(t, m.email, "verification");
    expect(mails).toHaveLength(6);
    // Every link sent still works (older links are not superseded by a resend).
    expect((await post(t, VERIFY, { token: linkToken(mails[0]!) })).status).toBe(200);
  });

  test("already verified → 409; anonymous → 401", async () => {
    const m = await seedMember(t, "member");
    const r = await post(t, RESEND, undefined, m.auth);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe("ALREADY_VERIFIED");
    expect((await post(t, RESEND)).status).toBe(401);
    expect(await mailTo(t, m.email)).toHaveLength(0);
  });
});

describe("existing-account notice", () => {
  test("mails the owner (greeted by their stored name, not the form's), with no token and a reset link", async () => {
    const m = await seedMember(t, "member");
    const injected = "Your account is locked, call +1 555 0100";
    await sendExistingAccountNotice(mailDeps(t), { email: m.email, name: injected });
    const [mail] = await mailTo(t, m.email, "existing_account");
    expect(mail?.subject).toContain("Sign-up attempt");
    expect(mail?.text).toContain(`Hi ${(await userRow(t, m.userId)).name},`);
    expect(`${mail?.text}${mail?.html}`).not.toContain(injected);
    expect(mail?.text).toContain(`${t.platform.config.publicUrl}/forgot-password`);
    expect(mail?.text).not.toContain("token=");
    expect(await expectEveryMailHasBothParts(t)).toBe(1);

    await sendExistingAccountNotice(mailDeps(t), { email: "no-account@example.com", name: "X" });
    expect(await mailTo(t, "no-account@example.com")).toHaveLength(0);
  });
});
