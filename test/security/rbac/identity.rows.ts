/** Matrix rows for the identity core: system, auth, organizations, account, tokens, audit. */
import { eq } from "drizzle-orm";
import { invitations, memberships, sessions, users } from "../../../src/db/schema";
import { sendVerificationEmail } from "../../../src/modules/account/account.service";
import {
  agentOf,
  all,
  type Cell,
  inOrgA,
  invitation,
  mailToken,
  membershipId,
  must,
  operatorOnly,
  orgA,
  orgB,
  PASSWORD,
  patOf,
  type Scenario,
  signedIn,
  tokenLive,
} from "./support";
export const rows: Scenario[] = [
  // System (operator credentials only: users 403, anonymous 401)
  { route: "GET /api/v1/health", expect: all(200) },
  { route: "GET /api/v1/health/detailed", expect: operatorOnly },
  { route: "GET /api/v1/admin/jobs", expect: operatorOnly },
  {
    route: "POST /api/v1/admin/jobs/{id}/run",
    expect: operatorOnly,
    prepare: async () => ({ params: { id: "db.optimize" }, body: { wait: true } }),
    crossOrg: "job ids are instance-wide, not per organization (operator-only route)",
  },
  {
    route: "GET /api/v1/admin/jobs/{id}/runs",
    expect: operatorOnly,
    prepare: async () => ({ params: { id: "db.optimize" } }),
    crossOrg: "job ids are instance-wide, not per organization (operator-only route)",
  },

  // Authentication (A)
  {
    route: "POST /api/v1/auth/register",
    expect: all(201),
    prepare: async () => ({
      body: { email: `new-${crypto.randomUUID()}@example.com`, password: PASSWORD, name: "New Person" },
    }),
  },
  {
    route: "POST /api/v1/auth/login",
    expect: all(200),
    prepare: async (x) => ({ body: { email: x.subject.email, password: x.subject.password } }),
  },
  {
    route: "POST /api/v1/auth/refresh",
    expect: all(200),
    prepare: async (x) => ({ body: { refreshToken: x.subject.refreshToken } }),
  },
  { route: "POST /api/v1/auth/logout", expect: signedIn(204) },
  { route: "GET /api/v1/auth/sessions", expect: signedIn(200) },
  {
    route: "DELETE /api/v1/auth/sessions/{id}",
    // Your own session; otherOrgAdmin and anonymous are given A's admin's session.
    expect: { ...signedIn(204), otherOrgAdmin: 404 },
    prepare: async (x) => ({
      params: { id: (x.me && x.me !== x.fx.otherOrgAdmin ? x.me : x.fx.admin).sessionId },
    }),
    crossOrg: [
      async (x) => ({
        params: { id: x.fx.otherOrgAdmin.sessionId },
        intact: async () =>
          (
            await x.t.platform.db.select().from(sessions).where(eq(sessions.id, x.fx.otherOrgAdmin.sessionId))
          )[0]?.revokedAt === null,
      }),
    ],
  },
  { route: "POST /api/v1/auth/sessions/revoke-others", expect: signedIn(200) },
  { route: "GET /api/v1/me", expect: signedIn(200) },
  { route: "GET /api/v1/me/organizations", expect: signedIn(200) },
  {
    route: "POST /api/v1/auth/sessions/current/organization",
    // Each caller re-selects the organization they belong to; another organization is 404 (test/auth).
    expect: signedIn(200),
    prepare: async (x) => ({ body: { organizationId: (x.me ?? x.fx.admin).orgId } }),
  },

  // Organizations, members, invitations (C)
  {
    route: "GET /api/v1/orgs/{orgId}",
    expect: inOrgA(200, 200, 200, 200),
    prepare: async (x) => ({ params: { orgId: orgA(x) } }),
    crossOrg: [async (x) => ({ params: { orgId: orgB(x) } })],
  },
  {
    route: "PATCH /api/v1/orgs/{orgId}",
    expect: inOrgA(200, 403, 403, 403),
    prepare: async (x) => ({ params: { orgId: orgA(x) }, body: { name: "Renamed" } }),
    crossOrg: [async (x) => ({ params: { orgId: orgB(x) }, body: { name: "Renamed" } })],
  },
  {
    route: "GET /api/v1/orgs/{orgId}/members",
    expect: inOrgA(200, 200, 200, 200),
    prepare: async (x) => ({ params: { orgId: orgA(x) } }),
    crossOrg: [async (x) => ({ params: { orgId: orgB(x) } })],
  },
  ...(["GET", "PATCH", "DELETE"] as const).map(
    (method): Scenario => ({
      route: `${method} /api/v1/orgs/{orgId}/members/{memberId}`,
      expect: {
        GET: inOrgA(200, 200, 200, 200),
        PATCH: inOrgA(200, 200, 403, 403),
        DELETE: inOrgA(204, 403, 403, 403),
      }[method],
      // The target is A's plain member (the member role changes or removes itself only if allowed).
      prepare: async (x) => ({
        params: { orgId: orgA(x), memberId: await membershipId(x, x.fx.member) },
        body: method === "PATCH" ? { role: "viewer" } : undefined,
      }),
      crossOrg: [async (x) => crossMember(x, method, orgA(x)), async (x) => crossMember(x, method, orgB(x))],
    }),
  ),
  {
    route: "POST /api/v1/orgs/{orgId}/invitations",
    expect: inOrgA(201, 201, 403, 403),
    prepare: async (x) => ({
      params: { orgId: orgA(x) },
      body: { email: `invitee-${crypto.randomUUID()}@example.com`, role: "member" },
    }),
    crossOrg: [
      async (x) => ({ params: { orgId: orgB(x) }, body: { email: "someone@example.com", role: "member" } }),
    ],
  },
  {
    route: "GET /api/v1/orgs/{orgId}/invitations",
    expect: inOrgA(200, 200, 403, 403),
    prepare: async (x) => ({ params: { orgId: orgA(x) } }),
    crossOrg: [async (x) => ({ params: { orgId: orgB(x) } })],
  },
  {
    route: "DELETE /api/v1/orgs/{orgId}/invitations/{invitationId}",
    expect: inOrgA(204, 204, 403, 403),
    prepare: async (x) => ({
      params: { orgId: orgA(x), invitationId: (await invitation(x, x.fx.admin, "pending@example.com")).id },
    }),
    crossOrg: [async (x) => crossInvitation(x, orgA(x)), async (x) => crossInvitation(x, orgB(x))],
  },
  {
    route: "POST /api/v1/invitations/accept",
    // Each caller accepts an invitation to their own address into the other organization.
    expect: signedIn(201),
    prepare: async (x) => {
      const who = x.me ?? x.fx.viewer;
      const inviter = who === x.fx.otherOrgAdmin ? x.fx.admin : x.fx.otherOrgAdmin;
      return { body: { token: (await invitation(x, inviter, who.email)).token } };
    },
  },

  // Email verification and passwords (B)
  {
    route: "POST /api/v1/auth/email/verify",
    expect: all(200),
    prepare: async (x) => {
      const { db, clock, mailer, config } = x.t.platform;
      const s = x.subject;
      await sendVerificationEmail({ db, clock, mailer, config }, { id: s.userId, email: s.email, name: "S" });
      return { body: { token: await mailToken(x, s.email, "verification") } };
    },
  },
  {
    route: "POST /api/v1/auth/email/resend",
    expect: signedIn(202),
    prepare: async (x) => {
      await x.t.platform.db
        .update(users)
        .set({ emailVerifiedAt: null })
        .where(eq(users.id, x.subject.userId));
      return {};
    },
  },
  {
    route: "POST /api/v1/auth/password/forgot",
    expect: all(202),
    prepare: async (x) => ({ body: { email: x.subject.email } }),
  },
  {
    route: "POST /api/v1/auth/password/reset",
    expect: all(200),
    prepare: async (x) => {
      await must(x, "POST", "/api/v1/auth/password/forgot", x.subject, { email: x.subject.email });
      return { body: { token: await mailToken(x, x.subject.email, "password_reset"), password: PASSWORD } };
    },
  },
  {
    route: "POST /api/v1/auth/password/change",
    expect: signedIn(200),
    prepare: async (x) => ({ body: { currentPassword: x.subject.password, newPassword: PASSWORD } }),
  },
  {
    route: "POST /api/v1/auth/email/change",
    expect: signedIn(202),
    prepare: async (x) => ({
      body: { password: x.subject.password, newEmail: `moved-${crypto.randomUUID()}@example.com` },
    }),
  },

  // Personal access tokens and agents (D)
  {
    route: "POST /api/v1/tokens",
    expect: signedIn(201),
    prepare: async () => ({ body: { name: "CI export", scopes: ["reports:read"] } }),
  },
  { route: "GET /api/v1/tokens", expect: signedIn(200) },
  {
    route: "DELETE /api/v1/tokens/{id}",
    // Your own token; otherOrgAdmin is given A's admin's token.
    expect: { ...signedIn(204), otherOrgAdmin: 404 },
    prepare: async (x) => ({
      params: { id: await patOf(x, x.me && x.me !== x.fx.otherOrgAdmin ? x.me : x.fx.admin) },
    }),
    crossOrg: [
      async (x) => {
        const id = await patOf(x, x.fx.otherOrgAdmin);
        return { params: { id }, intact: tokenLive(x, id) };
      },
    ],
  },
  {
    route: "POST /api/v1/agents",
    expect: { ...signedIn(201), viewer: 403 },
    prepare: async () => ({ body: { name: `device-${crypto.randomUUID()}` } }),
  },
  { route: "GET /api/v1/agents", expect: signedIn(200) },
  { route: "GET /api/v1/agents/me", expect: signedIn(403) },
  {
    route: "DELETE /api/v1/agents/{id}",
    // The member's own agent: admins and managers may revoke it, the viewer may not see it.
    expect: inOrgA(204, 204, 204, 404),
    prepare: async (x) => ({ params: { id: await agentOf(x, x.fx.member) } }),
    crossOrg: [
      async (x) => {
        const id = await agentOf(x, x.fx.otherOrgAdmin);
        return { params: { id }, intact: tokenLive(x, id) };
      },
    ],
  },

  // Audit log (D): admins of their own organization
  { route: "GET /api/v1/audit", expect: { ...signedIn(403), admin: 200, otherOrgAdmin: 200 } },
  { route: "GET /api/v1/audit/verify", expect: { ...signedIn(403), admin: 200, otherOrgAdmin: 200 } },
];

async function crossMember(x: Cell, method: "GET" | "PATCH" | "DELETE", orgId: string) {
  const id = await membershipId(x, x.fx.otherOrgAdmin);
  return {
    params: { orgId, memberId: id },
    body: method === "PATCH" ? { role: "viewer" } : undefined,
    intact: async () =>
      (await x.t.platform.db.select().from(memberships).where(eq(memberships.id, id)))[0]?.role === "admin",
  };
}

async function crossInvitation(x: Cell, orgId: string) {
  const { id } = await invitation(x, x.fx.otherOrgAdmin, "b-invitee@example.com");
  return {
    params: { orgId, invitationId: id },
    intact: async () =>
      (await x.t.platform.db.select().from(invitations).where(eq(invitations.id, id)))[0]?.revokedAt === null,
  };
}
