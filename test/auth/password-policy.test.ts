import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema";
import { checkPassword, PASSWORD_MAX_LENGTH } from "../../src/lib/password-policy";
import { createTestApp, type TestApp } from "../support/app";
import { post, uniqueEmail } from "./helpers";

const codes = async (pw: string, ctx = {}) => (await checkPassword(pw, ctx)).map((i) => i.code);

describe("password policy (pure)", () => {
  test("at least 8 characters, counted as characters not UTF-16 units", async () => {
    expect(await codes("")).toEqual(["password_too_short"]);
    expect(await codes("Xq7#vL2")).toEqual(["password_too_short"]);
    expect(await codes("🦊🌲🚀🎻🧊🪐🦉")).toEqual(["password_too_short"]); // 7 emoji, 14 UTF-16 units
    expect(await codes("Xq7#vL2m")).toEqual([]); // 8 random characters: exactly at the threshold
  });

  test("long passwords are accepted up to 256 characters; longer are refused", async () => {
    const random = (n: number) =>
      Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => String.fromCharCode(33 + (b % 94))).join(
        "",
      );
    expect(await codes(random(64))).toEqual([]);
    expect(await codes(random(PASSWORD_MAX_LENGTH))).toEqual([]);
    expect(await codes(random(PASSWORD_MAX_LENGTH + 1))).toEqual(["password_too_long"]);
  });

  test("no composition rules: a lower-case passphrase passes, a 'complex' common one fails", async () => {
    expect(await codes("correct horse battery staple")).toEqual([]);
    expect(await codes("granite orchard velvet")).toEqual([]);
    for (const weak of [
      "Password1!",
      "P@ssw0rd123",
      "Summer2024!",
      "qwertyuiop",
      "iloveyou2024",
      "aaaaaaaaaaaa",
      "12345678",
    ])
      expect(await codes(weak)).toEqual(["password_too_weak"]);
  });

  test("refuses a password equal to or containing the email's local part, case-insensitively", async () => {
    const ctx = { email: "grace.hopper@example.com", name: "Grace Hopper" };
    expect(await codes("grace.hopper", ctx)).toContain("password_contains_email");
    expect(await codes("Xq7#-GRACE.HOPPER-vL2m", ctx)).toEqual(["password_contains_email"]);
    // Local parts shorter than 3 characters are not checked (they would refuse unrelated passwords).
    expect(await codes("al-Xq7#vL2m-zz", { email: "al@example.com" })).toEqual([]);
  });

  test("personal data lowers the score (name and email feed zxcvbn)", async () => {
    expect(await codes("hopper1906!", { email: "x@example.com", name: "Grace Hopper" })).toContain(
      "password_too_weak",
    );
  });

  test("weak-password messages carry zxcvbn's advice", async () => {
    const [issue] = await checkPassword("password123");
    expect(issue?.message).toMatch(/easy to guess/);
    expect(issue!.message.length).toBeGreaterThan(40);
  });

  test("crafted long inputs are scored on a prefix (no multi-second zxcvbn runs)", async () => {
    // "p4$$w0rd" × 32 used to take ~9 s of CPU in zxcvbn; it must simply be refused as weak.
    expect(await codes("p4$$w0rd".repeat(32))).toEqual(["password_too_weak"]);
  });
});

describe("register applies the policy (422 naming `password`)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  for (const [password, code] of [
    ["Tiny1", "password_too_short"],
    ["password123", "password_too_weak"],
    ["x".repeat(300), "password_too_long"],
  ] as const) {
    test(`${code}`, async () => {
      const email = uniqueEmail();
      const res = await t.app.request("/api/v1/auth/register", post({ email, password, name: "Pat" }));
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const body = (await res.json()) as {
        code: string;
        errors: { path: string; code: string; message: string }[];
      };
      expect(body.code).toBe("PASSWORD_REJECTED");
      expect(body.errors.every((e) => e.path === "password")).toBe(true);
      expect(body.errors.map((e) => e.code)).toContain(code);
      expect(JSON.stringify(body)).not.toContain(password.slice(0, 20));
      expect(await t.platform.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
    });
  }

  test("password_contains_email", async () => {
    const res = await t.app.request(
      "/api/v1/auth/register",
      post({ email: "margaret.hamilton@example.com", password: "Margaret.Hamilton-Apollo-11!", name: "M" }),
    );
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: { path: string; code: string }[] };
    expect(body.errors).toContainEqual(
      expect.objectContaining({ path: "password", code: "password_contains_email" }),
    );
  });

  test("passwords are not trimmed: surrounding spaces are part of the password", async () => {
    const email = uniqueEmail();
    const password = "  granite orchard velvet  ";
    expect((await t.app.request("/api/v1/auth/register", post({ email, password, name: "S" }))).status).toBe(
      201,
    );
    expect((await t.app.request("/api/v1/auth/login", post({ email, password }))).status).toBe(200);
    expect(
      (await t.app.request("/api/v1/auth/login", post({ email, password: password.trim() }))).status,
    ).toBe(401);
  });
});
