import { and, desc, eq } from "drizzle-orm";
import { apiTokens, auditLog, mailOutbox } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { hashToken, newOpaqueToken } from "../../src/modules/auth/auth.tokens";
import type { TestApp } from "../support/app";

/** JSON request helper: `call(t, "PATCH", url, auth, body)`. */
export async function call(
  t: TestApp,
  method: string,
  url: string,
  auth: Record<string, string> = {},
  body?: unknown,
): Promise<Response> {
  return t.app.request(url, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function auditRows(t: TestApp, orgId: string, action?: string) {
  const rows = await t.platform.db
    .select()
    .from(auditLog)
    .where(action ? and(eq(auditLog.orgId, orgId), eq(auditLog.action, action)) : eq(auditLog.orgId, orgId))
    .orderBy(auditLog.seq);
  return rows.map((r) => ({ ...r, metadata: JSON.parse(r.metadata) as Record<string, unknown> }));
}

/** Mail captured by the dev outbox, newest first (after deferred sends settle). */
export async function mailTo(t: TestApp, to: string) {
  await t.platform.drain();
  return t.platform.db
    .select()
    .from(mailOutbox)
    .where(eq(mailOutbox.to, to))
    .orderBy(desc(mailOutbox.createdAt));
}

/** The invitation token from the newest invitation mail to `to`. */
export async function invitationToken(t: TestApp, to: string): Promise<string> {
  const [mail] = await mailTo(t, to);
  const m = /accept-invitation\?token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? "");
  if (!m?.[1]) throw new Error(`no invitation mail to ${to}`);
  return m[1];
}

/** A live personal access (or agent) token row for a member, straight in the database. */
export async function seedApiToken(
  t: TestApp,
  m: { userId: string; orgId: string },
  kind: "pat" | "agent" = "pat",
  scopes: string[] = ["members:read", "members:write"],
): Promise<{ id: string; token: string; auth: Record<string, string> }> {
  const now = t.clock.now();
  const token = newOpaqueToken(kind);
  const id = newId("token", now);
  await t.platform.db.insert(apiTokens).values({
    id,
    kind,
    userId: m.userId,
    orgId: m.orgId,
    name: `${kind} for tests`,
    scopes: JSON.stringify(kind === "agent" ? ["ingest"] : scopes),
    tokenHash: await hashToken(token),
    prefix: token.slice(0, 8),
    createdAt: now,
  });
  return { id, token, auth: { authorization: `Bearer ${token}` } };
}
