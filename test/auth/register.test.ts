import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { invitations, memberships, organizations, users } from "../../src/db/schema";
import { sha256Hex } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import { auditRows, DAY, login, mailTo, me, post, register, strongPassword, uniqueEmail } from "./helpers";

describe("POST /api/v1/auth/register", () => {
  let t: TestApp;
  beforeEach(async () => {
    // Some tests here register more often than the per-IP limit allows; limits have their own suite.
    t = await createTestApp({ RATE_LIMIT_REGISTER: "1000/1h" });
  });
  afterEach(() => t.close());

  const reg = (body: Record<string, unknown>) => t.app.request("/api/v1/auth/register", post(body));

  test("creates the user (argon2id), a new organization with them as admin, and emails a verification link", async () => {
    const password = strongPassword();
    const res = await reg({
      email: "  Ada.Lovelace@Example.COM ",
      password,
      name: "  Ada Lovelace ",
      organizationName: "Engines Ltd",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      user: Record<string, unknown>;
      organization: { id: string; name: string; role: string };
    };
    expect(body.user).toMatchObject({
      email: "ada.lovelace@example.com",
      name: "Ada Lovelace",
      emailVerified: false,
    });
    expect(String(body.user.id)).toStartWith("usr_");
    expect(body.organization).toMatchObject({ name: "Engines Ltd", role: "admin" });
    expect(JSON.stringify(body)).not.toContain("argon2");
    expect(JSON.stringify(body)).not.toContain(password);

    const [user] = await t.platform.db
      .select()
      .from(users)
      .where(eq(users.id, String(body.user.id)));
    expect(user?.email).toBe("ada.lovelace@example.com");
    expect(user?.passwordHash).toStartWith("$argon2id$");
    const [m] = await t.platform.db.select().from(memberships).where(eq(memberships.userId, user!.id));
    expect(m).toMatchObject({ orgId: body.organization.id, role: "admin" });

    const mail = await mailTo(t, "ada.lovelace@example.com");
    expect(mail.map((x) => x.template)).toEqual(["verification"]);

    const [audit] = await auditRows(t, "auth.registered");
    expect(audit).toMatchObject({ orgId: body.organization.id, actorId: user!.id, targetId: user!.id });
    expect(audit!.metadata).not.toContain(password);
  });

  test('the organization name defaults to "<name>\'s organization"', async () => {
    const res = await reg({ email: uniqueEmail(), password: strongPassword(), name: "Grace" });
    const body = (await res.json()) as { organization: { id: string; name: string } };
    expect(body.organization.name).toBe("Grace's organization");
    const [org] = await t.platform.db
      .select()
      .from(organizations)
      .where(eq(organizations.id, body.organization.id));
    expect(org?.name).toBe("Grace's organization");
  });

  test("the new account can sign in; GET /me shows user, organization, role and principal kind", async () => {
    const account = await register(t, { name: "Linus" });
    const l = await login(t, account);
    const res = await me(t, l.accessToken);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user: { id: account.userId, email: account.email, name: "Linus", emailVerified: false },
      organization: { id: account.orgId, name: "Linus's organization" },
      role: "admin",
      principal: { kind: "user" },
    });
  });

  test("joins the inviting organization with an invitation token (no new organization)", async () => {
    const admin = await seedMember(t, "admin");
    const email = uniqueEmail("invitee");
    const token = "invite-token-0123456789abcdefghijklmnop";
    const now = t.clock.now();
    await t.platform.db.insert(invitations).values({
      id: newId("invitation", now),
      orgId: admin.orgId,
      email,
      role: "manager",
      tokenHash: await sha256Hex(token),
      invitedBy: admin.userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 7 * DAY),
    });
    const orgsBefore = (await t.platform.db.select().from(organizations)).length;
    const res = await reg({ email, password: strongPassword(), name: "Invitee", invitationToken: token });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      user: { id: string };
      organization: { id: string; name: string; role: string };
    };
    const [org] = await t.platform.db.select().from(organizations).where(eq(organizations.id, admin.orgId));
    expect(body.organization).toEqual({ id: admin.orgId, name: org!.name, role: "manager" });
    expect((await t.platform.db.select().from(organizations)).length).toBe(orgsBefore);
    const [m] = await t.platform.db.select().from(memberships).where(eq(memberships.userId, body.user.id));
    expect(m).toMatchObject({ orgId: admin.orgId, role: "manager" });
    expect((await auditRows(t, "invitation.accepted"))[0]).toMatchObject({ orgId: admin.orgId });

    // One-time: the token cannot be used again.
    const again = await reg({ email, password: strongPassword(), name: "Again", invitationToken: token });
    expect(again.status).toBe(422);
  });

  test("an invalid invitation token is 422 INVALID_INVITATION and creates nothing", async () => {
    const email = uniqueEmail();
    const res = await reg({
      email,
      password: strongPassword(),
      name: "X",
      invitationToken: "nope-nope-nope",
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(body.code).toBe("INVALID_INVITATION");
    expect(body.errors.map((e) => e.path)).toEqual(["invitationToken"]);
    expect(await t.platform.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });

  test("an invitation sent to another address is refused", async () => {
    const admin = await seedMember(t, "admin");
    const token = "invite-token-for-someone-else-0123456789";
    const now = t.clock.now();
    await t.platform.db.insert(invitations).values({
      id: newId("invitation", now),
      orgId: admin.orgId,
      email: "someone@example.com",
      role: "member",
      tokenHash: await sha256Hex(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + 7 * DAY),
    });
    const res = await reg({
      email: uniqueEmail(),
      password: strongPassword(),
      name: "X",
      invitationToken: token,
    });
    expect(res.status).toBe(422);
  });

  test("unknown fields (mass assignment) and bad values are 422 naming the field", async () => {
    const base = { email: uniqueEmail(), password: strongPassword(), name: "Eve" };
    for (const [extra, path] of [
      [{ role: "admin" }, "role"],
      [{ orgId: "org_x" }, "orgId"],
      [{ emailVerified: true }, "emailVerified"],
      [{ email: "not-an-email" }, "email"],
      [{ name: "" }, "name"],
      [{ name: "Eve\u0000" }, "name"],
      [{ organizationName: "Bad\nName" }, "organizationName"],
    ] as const) {
      const res = await reg({ ...base, ...extra });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { errors: { path: string }[] };
      expect(body.errors.map((e) => e.path)).toContain(path);
    }
    expect(await t.platform.db.select().from(users).where(eq(users.email, base.email))).toHaveLength(0);
  });
});
