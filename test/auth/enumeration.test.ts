import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { invitations, memberships, users } from "../../src/db/schema";
import { sha256Hex } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import { DAY, mailTo, post, register, strongPassword, uniqueEmail } from "./helpers";

/** The JSON shape of a value: keys and value types, recursively (ids and times differ by nature). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shape(x)]),
    );
  return typeof v;
}

const withoutRequestId = ({ requestId: _r, instance: _i, ...rest }: Record<string, unknown>) => rest;

describe("no account enumeration", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  test("register with an existing email: same status and body shape, nothing created, the owner is emailed", async () => {
    const existing = await register(t, { name: "Owner" });
    await mailTo(t, existing.email); // settle the first registration's mail
    const usersBefore = (await t.platform.db.select().from(users)).length;

    const fresh = uniqueEmail();
    const body = (email: string) => ({
      email,
      password: strongPassword(),
      name: "Someone",
      organizationName: "Acme",
    });
    const a = await t.app.request("/api/v1/auth/register", post(body(fresh)));
    const b = await t.app.request("/api/v1/auth/register", post(body(existing.email.toUpperCase())));
    expect(b.status).toBe(a.status);
    expect(a.status).toBe(201);
    const ja = (await a.json()) as Record<string, { id: string; name?: string }>;
    const jb = (await b.json()) as Record<string, { id: string; name?: string }>;
    expect(shape(jb)).toEqual(shape(ja));
    expect({ ...jb.user, id: "", email: "" }).toEqual({ ...ja.user, id: "", email: "" });
    expect({ ...jb.organization, id: "" }).toEqual({ ...ja.organization, id: "" });
    // The id looks like any other and is not the real account's.
    expect(jb.user!.id).toMatch(/^usr_[0-9a-z]{26}$/);
    expect(jb.user!.id).not.toBe(existing.userId);
    for (const h of ["content-type", "cache-control"]) expect(b.headers.get(h)).toBe(a.headers.get(h));

    // Only the fresh registration created a user; the existing account is untouched.
    expect((await t.platform.db.select().from(users)).length).toBe(usersBefore + 1);
    const [owner] = await t.platform.db.select().from(users).where(eq(users.id, existing.userId));
    expect(owner!.name).toBe("Owner");
    expect(
      await t.platform.db.select().from(memberships).where(eq(memberships.userId, existing.userId)),
    ).toHaveLength(1);
    // The owner gets a notice (not a verification link); the new address gets its verification link.
    const ownerMail = await mailTo(t, existing.email);
    expect(ownerMail.map((m) => m.template)).toEqual(["verification", "existing_account"]);
    // Greeted by their own name: the registrant's chosen name never reaches the owner's inbox.
    expect(ownerMail[1]!.text).toContain("Owner");
    expect(ownerMail[1]!.text).not.toContain("Mallory");
    expect(ownerMail[1]!.html).not.toContain("Mallory");
    expect((await mailTo(t, fresh)).map((m) => m.template)).toEqual(["verification"]);
  });

  test("with a valid invitation, an existing email gets the same 201 and nothing is joined or used", async () => {
    const admin = await seedMember(t, "admin");
    const existing = await register(t);
    const now = t.clock.now();
    const invite = async (email: string, token: string) =>
      t.platform.db.insert(invitations).values({
        id: newId("invitation", now),
        orgId: admin.orgId,
        email,
        role: "member",
        tokenHash: await sha256Hex(token),
        createdAt: now,
        expiresAt: new Date(now.getTime() + DAY),
      });
    const fresh = uniqueEmail();
    await invite(fresh, "token-for-fresh-0123456789abcdef");
    await invite(existing.email, "token-for-existing-0123456789abcdef");
    const send = (email: string, invitationToken: string) =>
      t.app.request(
        "/api/v1/auth/register",
        post({ email, password: strongPassword(), name: "N", invitationToken }),
      );
    const a = await send(fresh, "token-for-fresh-0123456789abcdef");
    const b = await send(existing.email, "token-for-existing-0123456789abcdef");
    expect([a.status, b.status]).toEqual([201, 201]);
    const [ja, jb] = [
      (await a.json()) as Record<string, unknown>,
      (await b.json()) as Record<string, unknown>,
    ];
    expect(shape(jb)).toEqual(shape(ja));
    expect(jb.organization).toEqual(ja.organization);
    // The existing account did not join, and its invitation is still open for a signed-in accept.
    const joined = await t.platform.db.select().from(memberships).where(eq(memberships.orgId, admin.orgId));
    expect(joined.map((m) => m.userId)).not.toContain(existing.userId);
    const [inv] = await t.platform.db.select().from(invitations).where(eq(invitations.email, existing.email));
    expect(inv!.acceptedAt).toBeNull();
  });

  test("with a bad invitation, existing and new emails get the same 422", async () => {
    const existing = await register(t);
    const send = (email: string) =>
      t.app.request(
        "/api/v1/auth/register",
        post({ email, password: strongPassword(), name: "X", invitationToken: "not-a-real-invitation" }),
      );
    const a = await send(uniqueEmail());
    const b = await send(existing.email);
    expect([a.status, b.status]).toEqual([422, 422]);
    expect(withoutRequestId(await b.json())).toEqual(withoutRequestId(await a.json()));
  });

  test("policy failures do not depend on whether the email exists", async () => {
    const existing = await register(t);
    const send = (email: string) =>
      t.app.request("/api/v1/auth/register", post({ email, password: "password1", name: "X" }));
    const a = await send(uniqueEmail());
    const b = await send(existing.email);
    expect([a.status, b.status]).toEqual([422, 422]);
    expect(withoutRequestId(await b.json())).toEqual(withoutRequestId(await a.json()));
  });

  test("login: unknown email and wrong password give the identical 401", async () => {
    const account = await register(t);
    const unknown = await t.app.request(
      "/api/v1/auth/login",
      post({ email: uniqueEmail("ghost"), password: "Some-Other-Pass-42" }),
    );
    const wrong = await t.app.request(
      "/api/v1/auth/login",
      post({ email: account.email, password: "Some-Other-Pass-42" }),
    );
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const [ju, jw] = [
      (await unknown.json()) as Record<string, unknown>,
      (await wrong.json()) as Record<string, unknown>,
    ];
    expect(ju.code).toBe("INVALID_CREDENTIALS");
    expect(withoutRequestId(jw)).toEqual(withoutRequestId(ju));
    expect(jw.instance).toBe(ju.instance);
    const headers = (r: Response) =>
      [...r.headers.entries()]
        .filter(([k]) => !["x-request-id", "content-length", "date"].includes(k))
        .sort();
    expect(headers(wrong)).toEqual(headers(unknown));
  });
});
