import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { verificationTokens } from "../../src/db/schema";
import { sendVerificationEmail } from "../../src/modules/account/account.service";
import {
  renderEmailChanged,
  renderEmailChangeRequested,
  renderEmailChangeVerification,
} from "../../src/modules/mail/templates";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import {
  auditRows,
  expectAuditFreeOf,
  expectEveryMailHasBothParts,
  linkToken,
  mailDeps,
  mailTo,
  post,
  userRow,
} from "./support";

const CHANGE = "/api/v1/auth/email/change";
const VERIFY = "/api/v1/auth/email/verify";
const LOGIN = "/api/v1/auth/login";
const HOUR = 3_600_000;

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeOf = async (r: Response) => ((await r.json()) as { code: string }).code;
const login = (email: string, password: string) => post(t, LOGIN, { email, password });

async function changeLink(m: SeededMember, newEmail: string) {
  const r = await post(t, CHANGE, { password: m.password, newEmail }, m.auth);
  expect(r.status).toBe(202);
  const [mail] = await mailTo(t, newEmail, "email_change_verification");
  if (!mail) throw new Error("no email-change link");
  return linkToken(mail);
}

describe("email change", () => {
  test("mails a link to the new address and a notice to the old; the address changes only on verify", async () => {
    const m = await seedMember(t, "member");
    const r = await post(t, CHANGE, { password: m.password, newEmail: "  Ada.New@Example.COM " }, m.auth);
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: true });
    const newEmail = "ada.new@example.com";

    const [link] = await mailTo(t, newEmail, "email_change_verification");
    const token = linkToken(link!);
    expect(link!.text).toContain(`${t.platform.config.publicUrl}/verify-email?token=${token}`);
    const [notice] = await mailTo(t, m.email, "email_change_requested");
    expect(notice?.text).toContain(newEmail);
    expect(notice?.text).toContain("/forgot-password");
    expect(notice?.text).not.toContain("token=");

    const [row] = await t.platform.db
      .select()
      .from(verificationTokens)
      .where(eq(verificationTokens.userId, m.userId));
    expect(row).toMatchObject({ purpose: "email_verify", email: newEmail });
    expect(row!.tokenHash).toBe(new Bun.CryptoHasher("sha256").update(token).digest("hex"));
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(48 * HOUR);
    expect((await userRow(t, m.userId)).email).toBe(m.email); // not yet

    t.clock.advance(1000);
    const ok = await post(t, VERIFY, { token });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ verified: true });
    const user = await userRow(t, m.userId);
    expect(user.email).toBe(newEmail);
    expect(user.emailVerifiedAt?.getTime()).toBe(t.clock.now().getTime());

    expect((await login(newEmail, m.password)).status).toBe(200);
    expect((await login(m.email, m.password)).status).toBe(401);

    const [audited] = await auditRows(t, "auth.email_changed");
    expect(audited).toMatchObject({
      orgId: m.orgId,
      actorType: "user",
      actorId: m.userId,
      targetId: m.userId,
    });
    expect(JSON.parse(audited!.metadata)).toEqual({ oldEmail: m.email, newEmail });
    expect(await auditRows(t, "auth.email_change_requested")).toHaveLength(1);
    const [confirmation] = await mailTo(t, m.email, "email_changed");
    expect(confirmation?.text).toContain(newEmail);
    await expectAuditFreeOf(t, [token, m.password]);
    expect(await expectEveryMailHasBothParts(t)).toBe(3);
  });

  test("the link works once", async () => {
    const m = await seedMember(t, "member");
    const token = await changeLink(m, "once@example.com");
    expect((await post(t, VERIFY, { token })).status).toBe(200);
    const again = await post(t, VERIFY, { token });
    expect(again.status).toBe(400);
    expect(await codeOf(again)).toBe("INVALID_TOKEN");
    expect(await auditRows(t, "auth.email_changed")).toHaveLength(1);
  });

  test("the link expires after 48 hours", async () => {
    const m = await seedMember(t, "member");
    const early = await changeLink(m, "early@example.com");
    t.clock.advance(48 * HOUR);
    expect((await post(t, VERIFY, { token: early })).status).toBe(400);
    expect((await userRow(t, m.userId)).email).toBe(m.email);

    const refreshed = await t.services.sessions.refresh(m.refreshToken);
    if (!refreshed.ok) throw new Error("refresh failed");
    const fresh = { ...m, auth: bearer(refreshed.tokens.accessToken) };
    const late = await changeLink(fresh, "late@example.com");
    t.clock.advance(48 * HOUR - 1);
    expect((await post(t, VERIFY, { token: late })).status).toBe(200); // 1 ms before expiry
    expect((await userRow(t, m.userId)).email).toBe("late@example.com");
  });

  test("asking again makes the earlier change link stop working", async () => {
    const m = await seedMember(t, "member");
    const typo = await changeLink(m, "ada@exmaple.com");
    const right = await changeLink(m, "ada@example.org");
    expect((await post(t, VERIFY, { token: typo })).status).toBe(400);
    expect((await post(t, VERIFY, { token: right })).status).toBe(200);
    expect((await userRow(t, m.userId)).email).toBe("ada@example.org");
  });

  test("an address that already has an account: same 202, no link, its owner gets nothing", async () => {
    const m = await seedMember(t, "member");
    const owner = await seedMember(t, "member");
    const r = await post(t, CHANGE, { password: m.password, newEmail: owner.email.toUpperCase() }, m.auth);
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: true });
    expect(await mailTo(t, owner.email)).toHaveLength(0);
    expect(await mailTo(t, m.email, "email_change_requested")).toHaveLength(1);
    expect(await t.platform.db.select().from(verificationTokens)).toHaveLength(0);
    expect((await userRow(t, m.userId)).email).toBe(m.email);
  });

  test("an address taken after the link was sent is refused at verify (400), nothing changes", async () => {
    const m = await seedMember(t, "member");
    const token = await changeLink(m, "contested@example.com");
    await seedMember(t, "member", { email: "contested@example.com" });
    const r = await post(t, VERIFY, { token });
    expect(r.status).toBe(400);
    expect(await codeOf(r)).toBe("INVALID_TOKEN");
    expect((await userRow(t, m.userId)).email).toBe(m.email);
    expect(await auditRows(t, "auth.email_changed")).toHaveLength(0);
  });

  test("a plain verification link for the old address does not work after the change", async () => {
    const m = await seedMember(t, "member");
    await sendVerificationEmail(mailDeps(t), { id: m.userId, email: m.email, name: "A" });
    const [plain] = await mailTo(t, m.email, "verification");
    const token = await changeLink(m, "moved@example.com");
    expect((await post(t, VERIFY, { token })).status).toBe(200);
    expect((await post(t, VERIFY, { token: linkToken(plain!) })).status).toBe(400);
    expect((await userRow(t, m.userId)).email).toBe("moved@example.com");
  });

  test("a wrong password is 403, audited, and sends nothing", async () => {
    const m = await seedMember(t, "member");
    const r = await post(t, CHANGE, { password: "not my password 123", newEmail: "x@example.com" }, m.auth);
    expect(r.status).toBe(403);
    expect(await codeOf(r)).toBe("INVALID_CURRENT_PASSWORD");
    expect(await mailTo(t, m.email)).toHaveLength(0);
    expect(await mailTo(t, "x@example.com")).toHaveLength(0);
    const [row] = await auditRows(t, "auth.email_change_failed");
    expect(JSON.parse(row!.metadata)).toEqual({ reason: "wrong_current_password" });
    await expectAuditFreeOf(t, ["not my password 123"]);
  });

  test("guessing the password is limited (429 after 10 attempts in 15 min)", async () => {
    const m = await seedMember(t, "member");
    for (let i = 0; i < 10; i++)
      expect(
        (await post(t, CHANGE, { password: `guess ${i} abcdefg`, newEmail: "x@example.com" }, m.auth)).status,
      ).toBe(403);
    const r = await post(t, CHANGE, { password: m.password, newEmail: "x@example.com" }, m.auth);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBeTruthy();
  });

  test("the current address is 422 naming newEmail; unknown fields 422; anonymous 401", async () => {
    const m = await seedMember(t, "member");
    const same = await post(
      t,
      CHANGE,
      { password: m.password, newEmail: ` ${m.email.toUpperCase()}` },
      m.auth,
    );
    expect(same.status).toBe(422);
    const body = (await same.json()) as { errors: { path: string }[] };
    expect(body.errors.map((e) => e.path)).toContain("newEmail");
    const extra = { password: m.password, newEmail: "y@example.com", userId: "usr_x" };
    expect((await post(t, CHANGE, extra, m.auth)).status).toBe(422);
    expect((await post(t, CHANGE, { password: m.password, newEmail: "not-an-email" }, m.auth)).status).toBe(
      422,
    );
    expect((await post(t, CHANGE, { nonsense: true })).status).toBe(401);
    expect(await mailTo(t, "y@example.com")).toHaveLength(0);
  });

  test("personal access and agent tokens are refused (403)", async () => {
    const m = await seedMember(t, "admin");
    const pat = await post(t, "/api/v1/tokens", { name: "ci", scopes: ["own:write"] }, m.auth);
    expect(pat.status).toBe(201);
    const agent = await post(t, "/api/v1/agents", { name: "laptop" }, m.auth);
    expect(agent.status).toBe(201);
    for (const res of [pat, agent]) {
      const { token } = (await res.json()) as { token: string };
      const r = await post(t, CHANGE, { password: m.password, newEmail: "z@example.com" }, bearer(token));
      expect(r.status).toBe(403);
    }
    expect(await mailTo(t, "z@example.com")).toHaveLength(0);
    expect((await userRow(t, m.userId)).email).toBe(m.email);
  });
});

describe("email-change templates", () => {
  test("text and HTML parts; user data escaped in HTML and kept to one line", () => {
    const ctx = { publicUrl: "https://tt.example.com" };
    const evil = `Eve <img src=x onerror=alert(1)> "&"\r\nBcc: victim@example.com`;
    const at = new Date("2026-01-05T09:00:00.000Z");
    const mails = [
      renderEmailChangeVerification(ctx, {
        to: "n@example.com",
        name: evil,
        token: "tte_x",
        expiresInHours: 48,
      }),
      renderEmailChangeRequested(ctx, { to: "o@example.com", name: evil, newEmail: evil, at }),
      renderEmailChanged(ctx, { to: "o@example.com", name: evil, newEmail: evil, at }),
    ];
    expect(new Set(mails.map((m) => m.template)).size).toBe(3);
    for (const m of mails) {
      expect(m.text.length).toBeGreaterThan(20);
      expect(m.html).toStartWith("<!doctype html>");
      expect(m.html).not.toContain("<img");
      expect(m.html).toContain("Eve &lt;img");
      expect(m.subject).not.toMatch(/[\r\n]/);
      expect(m.text).not.toContain("\r\nBcc");
    }
    expect(mails[0]!.html).toContain('href="https://tt.example.com/verify-email?token=tte_x"');
  });
});
