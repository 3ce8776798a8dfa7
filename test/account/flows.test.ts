import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { expectAuditFreeOf, expectEveryMailHasBothParts, linkToken, mailTo, post } from "./support";

/** End to end over HTTP: register (engineer A's route) → mail → verify; forgot → reset → login. */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const email = "lin.okafor@example.com";
const password = "paper kite riverbank 77";
const newPassword = "amber falcon quarry 903";

async function register(name: string) {
  return post(t, "/api/v1/auth/register", { email, password, name, organizationName: "Okafor Labs" });
}

const login = (pw: string) => post(t, "/api/v1/auth/login", { email, password: pw });

describe("account flows over HTTP", () => {
  test("register → verification mail → verify; registering again mails the owner instead", async () => {
    expect((await register("Lin Okafor")).status).toBe(201);
    const [mail] = await mailTo(t, email, "verification");
    const token = linkToken(mail!);

    const me = await login(password);
    expect(me.status).toBe(200);
    const { accessToken } = (await me.json()) as { accessToken: string };
    const auth = { authorization: `Bearer ${accessToken}` };
    expect((await post(t, "/api/v1/auth/email/verify", { token })).status).toBe(200);
    expect((await post(t, "/api/v1/auth/email/resend", undefined, auth)).status).toBe(409);

    expect((await register("Someone Else")).status).toBe(201);
    const [notice] = await mailTo(t, email, "existing_account");
    expect(notice?.text).toContain("Hi Lin Okafor,");
    expect(await mailTo(t, email, "verification")).toHaveLength(1);
    await expectAuditFreeOf(t, [token, password]);
    expect(await expectEveryMailHasBothParts(t)).toBe(2);
  });

  test("forgot → reset → the new password logs in, the old one does not", async () => {
    expect((await register("Lin Okafor")).status).toBe(201);
    const before = await login(password);
    const { accessToken } = (await before.json()) as { accessToken: string };

    expect((await post(t, "/api/v1/auth/password/forgot", { email })).status).toBe(202);
    const [mail] = await mailTo(t, email, "password_reset");
    const token = linkToken(mail!);
    expect((await post(t, "/api/v1/auth/password/reset", { token, password: newPassword })).status).toBe(200);

    expect(
      (await post(t, "/api/v1/auth/email/resend", undefined, { authorization: `Bearer ${accessToken}` }))
        .status,
    ).toBe(401);
    expect((await login(password)).status).toBe(401);
    expect((await login(newPassword)).status).toBe(200);
    expect(await mailTo(t, email, "password_reset_confirmation")).toHaveLength(1);
    await expectAuditFreeOf(t, [token, password, newPassword]);
  });
});
