/**
 * Every /api/v1 route × every role (pocketbase's ApiScenario, as a table).
 *
 * Each cell runs on a fresh app and fresh data: organization A with an admin, a manager, a member
 * and a viewer; organization B with its admin ("otherOrgAdmin"); and no credentials ("anonymous").
 * Ids in paths belong to organization A (or to the caller, for things a user owns: sessions,
 * tokens), so otherOrgAdmin's column is the BOLA check from the outside. A second table runs every
 * route that takes an id with organization B's ids as A's admin: always 404, never 403 or data.
 *
 * The table must cover the OpenAPI document exactly: a new route fails the suite until it is added.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { and, desc, eq, isNull } from "drizzle-orm";
import { apiTokens, invitations, mailOutbox, memberships, sessions, users } from "../../src/db/schema";
import { sendVerificationEmail } from "../../src/modules/account/account.service";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";

const ROLES = ["admin", "manager", "member", "viewer", "otherOrgAdmin", "anonymous"] as const;
type RoleName = (typeof ROLES)[number];
type Expect = Record<RoleName, number>;
type Params = Record<string, string>;

interface Fixture {
  admin: SeededMember;
  manager: SeededMember;
  member: SeededMember;
  viewer: SeededMember;
  otherOrgAdmin: SeededMember;
}

interface Cell {
  t: TestApp;
  fx: Fixture;
  /** The caller (null when anonymous). */
  me: SeededMember | null;
  /** The caller, or A's admin for anonymous: whose credentials a public route is given. */
  subject: SeededMember;
}

interface Prepared {
  params?: Params;
  body?: unknown;
}

interface Scenario {
  /** `METHOD /path` exactly as in the OpenAPI document. */
  route: string;
  expect: Expect;
  prepare?: (x: Cell) => Promise<Prepared>;
  /** Organization B's ids, called as A's admin → 404; or why the route's ids are not per organization. */
  crossOrg?: ((x: Cell) => Promise<Prepared & { intact?: () => Promise<boolean> }>)[] | string;
}

const IP = { ip: "203.0.113.9" };
const all = (n: number): Expect => ({
  admin: n,
  manager: n,
  member: n,
  viewer: n,
  otherOrgAdmin: n,
  anonymous: n,
});
const signedIn = (n: number): Expect => ({ ...all(n), anonymous: 401 });
/** Same status for A's four roles; otherOrgAdmin 404 (another org's id); anonymous 401. */
const inOrgA = (admin: number, manager: number, member: number, viewer: number): Expect => ({
  admin,
  manager,
  member,
  viewer,
  otherOrgAdmin: 404,
  anonymous: 401,
});
const operatorOnly: Expect = signedIn(403);
const PASSWORD = "Quiet-Harbour-Lantern-42";

// ---------------------------------------------------------------- helpers used by the table

async function api(t: TestApp, method: string, url: string, who: SeededMember | null, body?: unknown) {
  const headers: Record<string, string> = who ? { ...who.auth } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  return t.app.request(
    url,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
    IP,
  );
}

/** A setup call that must succeed; says which one failed otherwise. */
async function must(x: Cell, method: string, url: string, who: SeededMember, body?: unknown) {
  const res = await api(x.t, method, url, who, body);
  if (res.status >= 300) throw new Error(`setup: ${method} ${url} → ${res.status} ${await res.text()}`);
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
}

async function membershipId(x: Cell, m: SeededMember): Promise<string> {
  const [row] = await x.t.platform.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
  if (!row) throw new Error("setup: no membership");
  return row.id;
}

/** The token in the newest mail to `to` (after deferred sends settle). */
async function mailToken(x: Cell, to: string, template: string): Promise<string> {
  await x.t.platform.drain();
  const [mail] = await x.t.platform.db
    .select()
    .from(mailOutbox)
    .where(and(eq(mailOutbox.to, to), eq(mailOutbox.template, template)))
    .orderBy(desc(mailOutbox.createdAt))
    .limit(1);
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? "")?.[1];
  if (!token) throw new Error(`setup: no ${template} mail to ${to}`);
  return token;
}

async function invitation(x: Cell, inviter: SeededMember, email: string) {
  const inv = await must(x, "POST", `/api/v1/orgs/${inviter.orgId}/invitations`, inviter, {
    email,
    role: "member",
  });
  return { id: inv.id as string, token: await mailToken(x, email, "invitation") };
}

const patOf = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/tokens", who, { name: "matrix", scopes: ["reports:read"] })).id as string;

const agentOf = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/agents", who, { name: `device-${crypto.randomUUID()}` })).id as string;

const tokenLive = (x: Cell, id: string) => async () =>
  (
    await x.t.platform.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
  ).length === 1;

const orgA = (x: Cell) => x.fx.admin.orgId;
const orgB = (x: Cell) => x.fx.otherOrgAdmin.orgId;

// ---------------------------------------------------------------- the table

const SCENARIOS: Scenario[] = [
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

// ---------------------------------------------------------------- running it

const fill = (path: string, params: Params = {}) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`table: no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });

async function withCell<T>(role: RoleName, run: (x: Cell) => Promise<T>): Promise<T> {
  const t = await createTestApp({ PUBLIC_URL: "https://app.teamtrack.test" });
  try {
    const admin = await seedMember(t, "admin", { password: "Copper-Meadow-Sailing-7" });
    const seed = (r: "manager" | "member" | "viewer") =>
      seedMember(t, r, { orgId: admin.orgId, password: "Copper-Meadow-Sailing-7" });
    const fx: Fixture = {
      admin,
      manager: await seed("manager"),
      member: await seed("member"),
      viewer: await seed("viewer"),
      otherOrgAdmin: await seedMember(t, "admin", { password: "Copper-Meadow-Sailing-7" }),
    };
    const me = role === "anonymous" ? null : fx[role];
    return await run({ t, fx, me, subject: me ?? fx.admin });
  } finally {
    await t.close();
  }
}

let documented: Set<string>;
beforeAll(async () => {
  const t = await createTestApp();
  const doc = (await (await t.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  await t.close();
  documented = new Set(
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/api/v1/"))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
  );
});

const tableKeys = SCENARIOS.map((s) => s.route);

describe("RBAC matrix: the table covers the API", () => {
  test("every /api/v1 operation in the OpenAPI document has a row", () => {
    const missing = [...documented].filter((k) => !tableKeys.includes(k));
    expect(missing, `add these routes to SCENARIOS in ${import.meta.file}`).toEqual([]);
  });

  test("every row is a route the app serves (unregistered routes are listed here)", () => {
    const unregistered = tableKeys.filter((k) => !documented.has(k));
    expect(unregistered, "rows for routes that are not registered (yet)").toEqual([]);
  });

  test("no duplicate rows; every route with an id in its path has a cross-organization check", () => {
    expect(new Set(tableKeys).size).toBe(tableKeys.length);
    const withoutCross = SCENARIOS.filter((s) => s.route.includes("{") && !s.crossOrg).map((s) => s.route);
    expect(withoutCross).toEqual([]);
  });
});

for (const s of SCENARIOS) {
  const [method, path] = s.route.split(" ") as [string, string];
  describe(s.route, () => {
    for (const role of ROLES) {
      test(`${role} → ${s.expect[role]}`, async () => {
        if (!documented.has(s.route)) throw new Error(`${s.route} is not registered in the app`);
        await withCell(role, async (x) => {
          const { params, body } = (await s.prepare?.(x)) ?? {};
          const res = await api(x.t, method, fill(path, params), x.me, body);
          const detail = res.status === s.expect[role] ? "" : ` (${await res.text()})`;
          expect(`${res.status}${detail}`).toBe(String(s.expect[role]));
          if (res.status === 401) expect(res.headers.get("www-authenticate")).toContain("Bearer");
        });
      });
    }
    if (Array.isArray(s.crossOrg)) {
      s.crossOrg.forEach((cross, i) => {
        test(`another organization's id (${i + 1}) → 404 for A's admin`, async () => {
          if (!documented.has(s.route)) throw new Error(`${s.route} is not registered in the app`);
          await withCell("admin", async (x) => {
            const { params, body, intact } = await cross(x);
            const res = await api(x.t, method, fill(path, params), x.fx.admin, body);
            const text = await res.text();
            expect(`${res.status}${res.status === 404 ? "" : ` (${text})`}`).toBe("404");
            for (const v of Object.values(params ?? {}))
              if (v.length > 8) expect(text).not.toContain(`"${v}"`);
            if (intact) expect(await intact()).toBe(true);
          });
        });
      });
    }
  });
}
