import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { auditRows, MINUTE, mailTo, post, register } from "./helpers";

let t: TestApp;
let ip = 0;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

/** Every attempt from a different address: the lock counts per account, across IPs. */
const attempt = (email: string, password: string) =>
  t.app.request("/api/v1/auth/login", post({ email, password }), { ip: `203.0.113.${(++ip % 250) + 1}` });

/** Status, problem body without the per-request id, and the auth challenge header. */
async function shape(res: Response) {
  const { requestId: _, ...body } = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, wwwAuthenticate: res.headers.get("www-authenticate") };
}

async function fail(email: string, times: number) {
  for (let i = 0; i < times; i++) expect((await attempt(email, "Wrong-Password-Guess-1")).status).toBe(401);
}

describe("account lockout (10 wrong passwords in 15 minutes, any IP)", () => {
  test("locks the account; the locked answer is identical to a wrong password; the user is emailed; audited", async () => {
    const a = await register(t);
    const wrongShape = await shape(await attempt(a.email, "Wrong-Password-Guess-1"));
    await fail(a.email, 9);
    // The right password is refused exactly like a wrong one while locked.
    const locked = await shape(await attempt(a.email, a.password));
    expect(locked).toEqual(wrongShape);
    expect((await mailTo(t, a.email)).filter((m) => m.template === "account_locked")).toHaveLength(1);
    const lockedRows = await auditRows(t, "auth.account_locked");
    expect(lockedRows).toHaveLength(1);
    expect(JSON.parse(lockedRows[0]?.metadata ?? "{}")).toMatchObject({ failures: 10 });
    const failed = await auditRows(t, "auth.login_failed");
    expect(JSON.parse(failed.at(-1)?.metadata ?? "{}")).toMatchObject({ reason: "account_locked" });
  });

  test("the lock lifts after 15 minutes; a second lock within a day lasts twice as long", async () => {
    const a = await register(t);
    await fail(a.email, 10);
    t.clock.advance(15 * MINUTE - 1000);
    expect((await attempt(a.email, a.password)).status).toBe(401);
    t.clock.advance(1000);
    expect((await attempt(a.email, a.password)).status).toBe(200);

    await fail(a.email, 10);
    t.clock.advance(15 * MINUTE);
    expect((await attempt(a.email, a.password)).status).toBe(401);
    t.clock.advance(15 * MINUTE);
    expect((await attempt(a.email, a.password)).status).toBe(200);
  });

  test("failures older than the window do not count, and a correct password resets the count", async () => {
    const a = await register(t);
    await fail(a.email, 9);
    expect((await attempt(a.email, a.password)).status).toBe(200);
    await fail(a.email, 9);
    expect((await attempt(a.email, a.password)).status).toBe(200);
    t.clock.advance(16 * MINUTE);
    await fail(a.email, 9);
    t.clock.advance(16 * MINUTE);
    await fail(a.email, 9);
    expect((await attempt(a.email, a.password)).status).toBe(200);
    expect(await auditRows(t, "auth.account_locked")).toHaveLength(0);
  });

  test("one account's lock does not affect another account", async () => {
    const a = await register(t);
    const b = await register(t);
    await fail(a.email, 10);
    expect((await attempt(b.email, b.password)).status).toBe(200);
  });
});
