import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { invitations, memberships } from "../../src/db/schema";
import { sha256Hex } from "../../src/lib/crypto";
import { claimInvitation } from "../../src/modules/orgs/invitations.repo";
import { acceptInvitationToken, createOrganizationWithAdmin } from "../../src/modules/orgs/orgs.service";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import { auditRows, call, invitationToken, mailTo, seedApiToken } from "./support";

const DAY = 86_400_000;
let t: TestApp;
let admin: SeededMember;
let orgId: string;

beforeEach(async () => {
  t = await createTestApp({ PUBLIC_URL: "https://app.teamtrack.test" });
  admin = await seedMember(t, "admin");
  orgId = admin.orgId;
});
afterEach(() => t.close());

const invite = (auth: Record<string, string>, email: string, role = "member", org = orgId) =>
  call(t, "POST", `/api/v1/orgs/${org}/invitations`, auth, { email, role });

const accept = (auth: Record<string, string>, token: string) =>
  call(t, "POST", "/api/v1/invitations/accept", auth, { token });

/** A new session (access tokens last 15 minutes; the clock moves by days here). */
const signIn = async (m: SeededMember) => {
  const { accessToken } = await t.services.sessions.create({ userId: m.userId, orgId: m.orgId });
  return { authorization: `Bearer ${accessToken}` };
};

const membership = async (org: string, userId: string) =>
  (
    await t.platform.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, org), eq(memberships.userId, userId)))
  )[0];

describe("creating an invitation", () => {
  test("201 without the token; only its SHA-256 stored; 7-day expiry; mail with text, HTML and the link; audited", async () => {
    const res = await invite(admin.auth, "  Grace@Example.COM ", "manager");
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      email: "grace@example.com",
      role: "manager",
      status: "pending",
      invitedBy: admin.userId,
      acceptedAt: null,
      revokedAt: null,
      expiresAt: new Date(t.clock.now().getTime() + 7 * DAY).toISOString(),
    });
    expect(res.headers.get("location")).toBe(`/api/v1/orgs/${orgId}/invitations/${body.id}`);
    expect(Object.keys(body)).not.toContain("token");
    expect(Object.keys(body)).not.toContain("tokenHash");

    const [mail] = await mailTo(t, "grace@example.com");
    expect(mail).toBeDefined();
    expect(mail!.template).toBe("invitation");
    expect(mail!.text.length).toBeGreaterThan(0);
    expect(mail!.html).toContain("<html");
    const token = await invitationToken(t, "grace@example.com");
    const link = `https://app.teamtrack.test/accept-invitation?token=${token}`;
    expect(mail!.text).toContain(link);
    expect(mail!.html).toContain(link);
    expect(token.length).toBeGreaterThanOrEqual(43); // 32 random bytes, base64url

    const [row] = await t.platform.db
      .select()
      .from(invitations)
      .where(eq(invitations.id, body.id as string));
    expect(row!.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(JSON.stringify(body)).not.toContain(token);

    const [audit] = await auditRows(t, orgId, "invitation.created");
    expect(audit).toMatchObject({ actorId: admin.userId, targetType: "invitation", targetId: body.id });
    expect(audit!.metadata).toMatchObject({ email: "grace@example.com", role: "manager" });
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  test("managers invite anyone but admins; members and viewers cannot invite", async () => {
    const manager = await seedMember(t, "manager", { orgId });
    expect((await invite(manager.auth, "a@example.com", "admin")).status).toBe(403);
    expect((await invite(manager.auth, "a@example.com", "manager")).status).toBe(201);
    expect((await invite(admin.auth, "b@example.com", "admin")).status).toBe(201);
    for (const role of ["member", "viewer"] as const) {
      const m = await seedMember(t, role, { orgId });
      expect((await invite(m.auth, "c@example.com")).status).toBe(403);
    }
  });

  test("inviting an existing member is 409 ALREADY_MEMBER; bad input is 422; another org is 404", async () => {
    const m = await seedMember(t, "member", { orgId, email: "ada@example.com" });
    const res = await invite(admin.auth, " ADA@example.com", "viewer");
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("ALREADY_MEMBER");
    expect(m.orgId).toBe(orgId);
    expect((await invite(admin.auth, "not-an-email")).status).toBe(422);
    expect((await invite(admin.auth, "x@example.com", "owner")).status).toBe(422);
    expect(
      (
        await call(t, "POST", `/api/v1/orgs/${orgId}/invitations`, admin.auth, {
          email: "x@example.com",
          role: "member",
          orgId,
        })
      ).status,
    ).toBe(422);
    const other = await seedMember(t, "admin");
    expect((await invite(admin.auth, "x@example.com", "member", other.orgId)).status).toBe(404);
  });
});

describe("accepting", () => {
  test("a signed-in user with the invited email joins with the invited role; one time; session unchanged; audited", async () => {
    const invitee = await seedMember(t, "admin", { email: "grace@example.com" });
    await invite(admin.auth, "grace@example.com", "viewer");
    const token = await invitationToken(t, "grace@example.com");
    const res = await accept(invitee.auth, token);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { organization: { id: string }; member: Record<string, unknown> };
    expect(body.organization.id).toBe(orgId);
    expect(body.member).toMatchObject({ userId: invitee.userId, role: "viewer" });
    expect((await membership(orgId, invitee.userId))?.role).toBe("viewer");

    // The session still acts in its own organization.
    expect((await call(t, "GET", `/api/v1/orgs/${invitee.orgId}`, invitee.auth)).status).toBe(200);
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}`, invitee.auth)).status).toBe(404);

    const again = await accept(invitee.auth, token);
    expect(again.status).toBe(404);
    const [audit] = await auditRows(t, orgId, "invitation.accepted");
    expect(audit).toMatchObject({ actorId: invitee.userId, targetType: "invitation" });
    expect(audit!.metadata).toMatchObject({ role: "viewer", membershipId: body.member.id });
    const list = await call(t, "GET", `/api/v1/orgs/${orgId}/invitations`, admin.auth);
    expect(((await list.json()) as { data: { status: string }[] }).data[0]!.status).toBe("accepted");
  });

  test("a user with another email is refused and the invitation stays usable", async () => {
    const intruder = await seedMember(t, "member", { email: "mallory@example.com" });
    const invitee = await seedMember(t, "member", { email: "grace@example.com" });
    await invite(admin.auth, "grace@example.com");
    const token = await invitationToken(t, "grace@example.com");
    const res = await accept(intruder.auth, token);
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe("INVITATION_EMAIL_MISMATCH");
    expect(await membership(orgId, intruder.userId)).toBeUndefined();
    expect((await accept(invitee.auth, token)).status).toBe(201);
  });

  test("unknown tokens 404, malformed 422, anonymous 401, tokens (PAT) 403, existing member 409", async () => {
    const m = await seedMember(t, "member", { email: "grace@example.com" });
    expect((await accept(m.auth, "A".repeat(43))).status).toBe(404);
    expect((await accept(m.auth, "not a token!")).status).toBe(422);
    await invite(admin.auth, "grace@example.com");
    const token = await invitationToken(t, "grace@example.com");
    expect((await accept({}, token)).status).toBe(401);
    const pat = await seedApiToken(t, m, "pat", ["*"]);
    expect((await accept(pat.auth, token)).status).toBe(403);
    expect((await accept(m.auth, token)).status).toBe(201);

    // Invited again to an organization they already belong to (the membership came another way).
    const [row] = await t.platform.db
      .select()
      .from(invitations)
      .where(eq(invitations.email, "grace@example.com"));
    await t.platform.db.update(invitations).set({ acceptedAt: null }).where(eq(invitations.id, row!.id));
    const res = await accept(m.auth, token);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("ALREADY_MEMBER");
  });

  test("expires after 7 days (manual clock)", async () => {
    const invitee = await seedMember(t, "member", { email: "grace@example.com" });
    await invite(admin.auth, "grace@example.com");
    const token = await invitationToken(t, "grace@example.com");
    t.clock.advance(7 * DAY);
    expect((await accept(await signIn(invitee), token)).status).toBe(404);
    const list = await call(
      t,
      "GET",
      `/api/v1/orgs/${orgId}/invitations?status=expired`,
      await signIn(admin),
    );
    expect(((await list.json()) as { data: { status: string }[] }).data.map((i) => i.status)).toEqual([
      "expired",
    ]);
    expect(await membership(orgId, invitee.userId)).toBeUndefined();
  });

  test("just before expiry it still works", async () => {
    const invitee = await seedMember(t, "member", { email: "grace@example.com" });
    await invite(admin.auth, "grace@example.com");
    const token = await invitationToken(t, "grace@example.com");
    t.clock.advance(7 * DAY - 1);
    expect((await accept(await signIn(invitee), token)).status).toBe(201);
  });

  test("a new invitation to the same address replaces the open one", async () => {
    const invitee = await seedMember(t, "member", { email: "grace@example.com" });
    await invite(admin.auth, "grace@example.com", "viewer");
    const first = await invitationToken(t, "grace@example.com");
    t.clock.advance(1000);
    await invite(admin.auth, "grace@example.com", "manager");
    const second = await invitationToken(t, "grace@example.com");
    expect(second).not.toBe(first);
    expect((await accept(invitee.auth, first)).status).toBe(404);
    expect((await accept(invitee.auth, second)).status).toBe(201);
    expect((await membership(orgId, invitee.userId))?.role).toBe("manager");
  });
});

describe("revoking and listing", () => {
  test("revoke: the link dies, audited, idempotent; accepted ones 409; other orgs' ids 404", async () => {
    const invitee = await seedMember(t, "member", { email: "grace@example.com" });
    const created = (await (await invite(admin.auth, "grace@example.com")).json()) as { id: string };
    const token = await invitationToken(t, "grace@example.com");
    const url = `/api/v1/orgs/${orgId}/invitations/${created.id}`;
    expect((await call(t, "DELETE", url, invitee.auth)).status).toBe(404); // acts in another org
    expect((await call(t, "DELETE", url, admin.auth)).status).toBe(204);
    expect((await call(t, "DELETE", url, admin.auth)).status).toBe(204);
    expect(await auditRows(t, orgId, "invitation.revoked")).toHaveLength(1);
    expect((await accept(invitee.auth, token)).status).toBe(404);

    await invite(admin.auth, "grace@example.com");
    const fresh = await invitationToken(t, "grace@example.com");
    expect((await accept(invitee.auth, fresh)).status).toBe(201);
    const list = (await (await call(t, "GET", `/api/v1/orgs/${orgId}/invitations`, admin.auth)).json()) as {
      data: { id: string; status: string }[];
    };
    const acceptedId = list.data.find((i) => i.status === "accepted")!.id;
    const res = await call(t, "DELETE", `/api/v1/orgs/${orgId}/invitations/${acceptedId}`, admin.auth);
    expect(res.status).toBe(409);

    const other = await seedMember(t, "admin");
    const theirs = (await (await invite(other.auth, "z@example.com", "member", other.orgId)).json()) as {
      id: string;
    };
    expect(
      (await call(t, "DELETE", `/api/v1/orgs/${orgId}/invitations/${theirs.id}`, admin.auth)).status,
    ).toBe(404);
    const [row] = await t.platform.db.select().from(invitations).where(eq(invitations.id, theirs.id));
    expect(row!.revokedAt).toBeNull();
  });

  test("list: newest first, cursor pagination, status filter, never a token or hash", async () => {
    for (let i = 0; i < 5; i++) {
      await invite(admin.auth, `p${i}@example.com`);
      t.clock.advance(1000);
    }
    const seen: Record<string, unknown>[] = [];
    let url: string | null = `/api/v1/orgs/${orgId}/invitations?limit=2`;
    while (url) {
      const res = await call(t, "GET", url, admin.auth);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Record<string, unknown>[]; nextCursor: string | null };
      seen.push(...body.data);
      url = body.nextCursor
        ? `/api/v1/orgs/${orgId}/invitations?limit=2&cursor=${encodeURIComponent(body.nextCursor)}`
        : null;
    }
    expect(seen.map((i) => i.email)).toEqual([4, 3, 2, 1, 0].map((i) => `p${i}@example.com`));
    for (const inv of seen) {
      expect(Object.keys(inv).sort()).toEqual(
        [
          "acceptedAt",
          "createdAt",
          "email",
          "expiresAt",
          "id",
          "invitedBy",
          "revokedAt",
          "role",
          "status",
        ].sort(),
      );
    }
    const pending = await call(t, "GET", `/api/v1/orgs/${orgId}/invitations?status=revoked`, admin.auth);
    expect(((await pending.json()) as { data: unknown[] }).data).toHaveLength(0);
    const viewer = await seedMember(t, "viewer", { orgId });
    expect((await call(t, "GET", `/api/v1/orgs/${orgId}/invitations`, viewer.auth)).status).toBe(403);
  });
});

describe("service contract used by registration", () => {
  test("createOrganizationWithAdmin makes the user the only admin", async () => {
    const u = await seedMember(t, "member");
    const { orgId: created } = await createOrganizationWithAdmin(t.platform.db, t.clock, {
      name: " New Org ",
      userId: u.userId,
    });
    expect(created).toMatch(/^org_/);
    expect((await membership(created, u.userId))?.role).toBe("admin");
  });

  test("acceptInvitationToken: membership for the matching email, null otherwise, exactly once under concurrency", async () => {
    const u = await seedMember(t, "member", { email: "new@example.com" });
    const other = await seedMember(t, "member", { email: "other@example.com" });
    await invite(admin.auth, "new@example.com", "manager");
    const token = await invitationToken(t, "new@example.com");
    const { db } = t.platform;
    expect(
      await acceptInvitationToken(db, t.clock, { token, userId: other.userId, email: other.email }),
    ).toBeNull();
    expect(
      await acceptInvitationToken(db, t.clock, { token: "B".repeat(43), userId: u.userId, email: u.email }),
    ).toBeNull();

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        acceptInvitationToken(db, t.clock, { token, userId: u.userId, email: " NEW@example.com " }),
      ),
    );
    const ok = results.filter((r) => r !== null);
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({ orgId, role: "manager" });
    const rows = await db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, u.userId)));
    expect(rows).toHaveLength(1);
    expect(await acceptInvitationToken(db, t.clock, { token, userId: u.userId, email: u.email })).toBeNull();
  });

  test("of concurrent claims of one invitation exactly one wins and one membership exists", async () => {
    const u = await seedMember(t, "member", { email: "race@example.com" });
    const created = (await (await invite(admin.auth, "race@example.com")).json()) as { id: string };
    const claims = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        claimInvitation(t.platform.db, {
          invitationId: created.id,
          userId: u.userId,
          membershipId: `mem_race_${i}`,
          now: t.clock.now(),
        }),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const rows = await t.platform.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, u.userId)));
    expect(rows).toHaveLength(1);
  });

  test("the claim itself refuses an invitation revoked after the check: no membership", async () => {
    const u = await seedMember(t, "member", { email: "late@example.com" });
    const created = (await (await invite(admin.auth, "late@example.com")).json()) as { id: string };
    await t.platform.db
      .update(invitations)
      .set({ revokedAt: t.clock.now() })
      .where(eq(invitations.id, created.id));
    const claimed = await claimInvitation(t.platform.db, {
      invitationId: created.id,
      userId: u.userId,
      membershipId: "mem_late",
      now: t.clock.now(),
    });
    expect(claimed).toBe(false);
    expect(await membership(orgId, u.userId)).toBeUndefined();
  });
});
