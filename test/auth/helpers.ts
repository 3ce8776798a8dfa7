import { eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { apiTokens, auditLog, mailOutbox } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { hashToken, newOpaqueToken } from "../../src/modules/auth/auth.tokens";
import type { TestApp } from "../support/app";

let counter = 0;

/** A password the policy accepts (zxcvbn score ≥ 3, unrelated to the email). */
export function strongPassword(): string {
  return `Quiet-Harbor-${++counter}-Lantern`;
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

export const post = (body?: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: body === undefined ? undefined : JSON.stringify(body),
});

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface Account {
  email: string;
  password: string;
  name: string;
  userId: string;
  orgId: string;
}

export interface Login {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  setCookie: string | null;
  auth: Record<string, string>;
}

/** Registers through the API (a new organization with the user as admin). */
export async function register(
  t: TestApp,
  opts: { email?: string; password?: string; name?: string } = {},
): Promise<Account> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? strongPassword();
  const name = opts.name ?? "Test User";
  const res = await t.app.request("/api/v1/auth/register", post({ email, password, name }));
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: { id: string }; organization: { id: string } };
  return { email, password, name, userId: body.user.id, orgId: body.organization.id };
}

export async function login(
  t: TestApp,
  account: { email: string; password: string },
  headers: Record<string, string> = {},
): Promise<Login> {
  const res = await t.app.request(
    "/api/v1/auth/login",
    post({ email: account.email, password: account.password }, headers),
  );
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { accessToken: string; refreshToken: string };
  return {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    sessionId: String(decodeJwt(body.accessToken).sid),
    setCookie: res.headers.get("set-cookie"),
    auth: bearer(body.accessToken),
  };
}

export async function refresh(t: TestApp, refreshToken: string): Promise<Response> {
  return t.app.request("/api/v1/auth/refresh", post({ refreshToken }));
}

export async function me(t: TestApp, accessToken: string): Promise<Response> {
  return t.app.request("/api/v1/me", { headers: bearer(accessToken) });
}

/** Audit rows of one action, oldest first. */
export async function auditRows(t: TestApp, action: string) {
  return t.platform.db.select().from(auditLog).where(eq(auditLog.action, action)).orderBy(auditLog.createdAt);
}

export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** A personal access token for `account`, written straight to the database (tokens are D's module). */
export async function insertPat(t: TestApp, account: { userId: string; orgId: string }, scopes = ["*"]) {
  const token = newOpaqueToken("pat");
  const now = t.clock.now();
  await t.platform.db.insert(apiTokens).values({
    id: newId("token", now),
    kind: "pat",
    userId: account.userId,
    orgId: account.orgId,
    name: "test",
    scopes: JSON.stringify(scopes),
    tokenHash: await hashToken(token),
    prefix: token.slice(0, 8),
    createdAt: now,
  });
  return token;
}

/** Captured mail (dev outbox) to one address, after deferred sends have finished. */
export async function mailTo(t: TestApp, to: string) {
  await t.platform.drain();
  return t.platform.db.select().from(mailOutbox).where(eq(mailOutbox.to, to)).orderBy(mailOutbox.createdAt);
}
