import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import { auditRows, expectAuditFreeOf, expectEveryMailHasBothParts, mailTo, post, userRow } from "./support";

const CHANGE = "/api/v1/auth/password/change";
const RESEND = "/api/v1/auth/email/resend";
const NEW_PASSWORD = "quiet orchard telescope 19";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function passwordIs(userId: string, password: string): Promise<boolean> {
  return (await t.platform.passwords.verify((await userRow(t, userId)).passwordHash, password)).ok;
}

describe("password change", () => {
  test("changes the password, keeps this session, revokes the others, mails a notice, audits", async () => {
    const m = await seedMember(t, "manager");
    const laptop = await t.services.sessions.create({
      userId: m.userId,
      orgId: m.orgId,
      userAgent: "laptop",
    });
    const phone = await t.services.sessions.create({ userId: m.userId, orgId: m.orgId, userAgent: "phone" });

    const r = await post(t, CHANGE, { currentPassword: m.password, newPassword: NEW_PASSWORD }, m.auth);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ passwordChanged: true, otherSessionsRevoked: 2 });
    expect(await passwordIs(m.userId, NEW_PASSWORD)).toBe(true);
    expect(await passwordIs(m.userId, m.password)).toBe(false);

    // This session lives on (authenticated → 409 "already verified"); the others die at once.
    expect((await post(t, RESEND, undefined, m.auth)).status).toBe(409);
    expect((await post(t, RESEND, undefined, bearer(laptop.accessToken))).status).toBe(401);
    expect((await post(t, RESEND, undefined, bearer(phone.accessToken))).status).toBe(401);
    expect((await t.services.sessions.list(m.userId)).map((s) => s.id)).toEqual([m.sessionId]);

    const [mail] = await mailTo(t, m.email, "password_changed");
    expect(mail?.subject).toContain("password was changed");
    const [row] = await auditRows(t, "auth.password_changed");
    expect(row).toMatchObject({ orgId: m.orgId, actorType: "user", actorId: m.userId, targetId: m.userId });
    expect(JSON.parse(row!.metadata)).toEqual({ otherSessionsRevoked: 2 });
    await expectAuditFreeOf(t, [m.password, NEW_PASSWORD]);
    expect(await expectEveryMailHasBothParts(t)).toBe(1);
  });

  test("a wrong current password is 403 and changes nothing (audited without the password)", async () => {
    const m = await seedMember(t, "member");
    const other = await t.services.sessions.create({ userId: m.userId, orgId: m.orgId });
    const r = await post(
      t,
      CHANGE,
      { currentPassword: "not my password 123", newPassword: NEW_PASSWORD },
      m.auth,
    );
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe("INVALID_CURRENT_PASSWORD");
    expect(await passwordIs(m.userId, m.password)).toBe(true);
    expect((await post(t, RESEND, undefined, bearer(other.accessToken))).status).toBe(409);
    expect(await mailTo(t, m.email)).toHaveLength(0);
    expect(await auditRows(t, "auth.password_change_failed")).toHaveLength(1);
    await expectAuditFreeOf(t, ["not my password 123", NEW_PASSWORD, m.password]);
  });

  test("the new password must pass the policy (422 naming newPassword)", async () => {
    const m = await seedMember(t, "member");
    const r = await post(t, CHANGE, { currentPassword: m.password, newPassword: "12345678" }, m.auth);
    expect(r.status).toBe(422);
    const body = (await r.json()) as { code: string; errors: { path: string }[] };
    expect(body.code).toBe("PASSWORD_REJECTED");
    expect(body.errors.map((e) => e.path)).toContain("newPassword");
    expect(await passwordIs(m.userId, m.password)).toBe(true);
  });

  test("guessing the current password is limited (429 after 10 attempts in 15 min)", async () => {
    const m = await seedMember(t, "member");
    for (let i = 0; i < 10; i++)
      expect(
        (await post(t, CHANGE, { currentPassword: `guess ${i} abcdefg`, newPassword: NEW_PASSWORD }, m.auth))
          .status,
      ).toBe(403);
    const r = await post(t, CHANGE, { currentPassword: m.password, newPassword: NEW_PASSWORD }, m.auth);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBeTruthy();
    expect(await passwordIs(m.userId, m.password)).toBe(true);
  });

  test("anonymous → 401 before body validation; unknown fields → 422", async () => {
    expect((await post(t, CHANGE, { nonsense: true })).status).toBe(401);
    const m = await seedMember(t, "member");
    const r = await post(
      t,
      CHANGE,
      { currentPassword: m.password, newPassword: NEW_PASSWORD, userId: "usr_x" },
      m.auth,
    );
    expect(r.status).toBe(422);
  });
});
