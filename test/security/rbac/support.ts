/** Shared vocabulary of the RBAC matrix (test/security/rbac-matrix.test.ts) and its row files. */
import { and, desc, eq, isNull } from "drizzle-orm";
import { apiTokens, mailOutbox, memberships } from "../../../src/db/schema";
import type { TestApp } from "../../support/app";
import type { SeededMember } from "../../support/identity";

export const ROLES = ["admin", "manager", "member", "viewer", "otherOrgAdmin", "anonymous"] as const;
export type RoleName = (typeof ROLES)[number];
export type Expect = Record<RoleName, number>;
export type Params = Record<string, string>;

export interface Fixture {
  admin: SeededMember;
  manager: SeededMember;
  member: SeededMember;
  viewer: SeededMember;
  otherOrgAdmin: SeededMember;
}

export interface Cell {
  t: TestApp;
  fx: Fixture;
  /** The caller (null when anonymous). */
  me: SeededMember | null;
  /** The caller, or A's admin for anonymous: whose credentials a public route is given. */
  subject: SeededMember;
}

export interface Prepared {
  params?: Params;
  body?: unknown;
}

export interface Scenario {
  /** `METHOD /path` exactly as in the OpenAPI document. */
  route: string;
  expect: Expect;
  prepare?: (x: Cell) => Promise<Prepared>;
  /** Organization B's ids, called as A's admin → 404; or why the route's ids are not per organization. */
  crossOrg?: ((x: Cell) => Promise<Prepared & { intact?: () => Promise<boolean> }>)[] | string;
}

export const IP = { ip: "203.0.113.9" };
export const all = (n: number): Expect => ({
  admin: n,
  manager: n,
  member: n,
  viewer: n,
  otherOrgAdmin: n,
  anonymous: n,
});
export const signedIn = (n: number): Expect => ({ ...all(n), anonymous: 401 });
/** Same status for A's four roles; otherOrgAdmin 404 (another org's id); anonymous 401. */
export const inOrgA = (admin: number, manager: number, member: number, viewer: number): Expect => ({
  admin,
  manager,
  member,
  viewer,
  otherOrgAdmin: 404,
  anonymous: 401,
});
export const operatorOnly: Expect = signedIn(403);
export const PASSWORD = "Quiet-Harbour-Lantern-42";

export async function api(t: TestApp, method: string, url: string, who: SeededMember | null, body?: unknown) {
  const headers: Record<string, string> = who ? { ...who.auth } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  return t.app.request(
    url,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
    IP,
  );
}

/** A setup call that must succeed; says which one failed otherwise. */
export async function must(x: Cell, method: string, url: string, who: SeededMember, body?: unknown) {
  const res = await api(x.t, method, url, who, body);
  if (res.status >= 300) throw new Error(`setup: ${method} ${url} → ${res.status} ${await res.text()}`);
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
}

export async function membershipId(x: Cell, m: SeededMember): Promise<string> {
  const [row] = await x.t.platform.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
  if (!row) throw new Error("setup: no membership");
  return row.id;
}

/** The token in the newest mail to `to` (after deferred sends settle). */
export async function mailToken(x: Cell, to: string, template: string): Promise<string> {
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

export async function invitation(x: Cell, inviter: SeededMember, email: string) {
  const inv = await must(x, "POST", `/api/v1/orgs/${inviter.orgId}/invitations`, inviter, {
    email,
    role: "member",
  });
  return { id: inv.id as string, token: await mailToken(x, email, "invitation") };
}

export const patOf = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/tokens", who, { name: "matrix", scopes: ["reports:read"] })).id as string;

export const agentOf = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/agents", who, { name: `device-${crypto.randomUUID()}` })).id as string;

export const tokenLive = (x: Cell, id: string) => async () =>
  (
    await x.t.platform.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
  ).length === 1;

export const orgA = (x: Cell) => x.fx.admin.orgId;
export const orgB = (x: Cell) => x.fx.otherOrgAdmin.orgId;
