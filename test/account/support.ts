import { expect } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { auditLog, mailOutbox, users } from "../../src/db/schema";
import type { TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";

export type Mail = typeof mailOutbox.$inferSelect;

/** Captured mail (the dev outbox), oldest first, after deferred sends have settled. */
export async function mailTo(t: TestApp, to: string, template?: string): Promise<Mail[]> {
  await t.platform.drain();
  const rows = await t.platform.db
    .select()
    .from(mailOutbox)
    .where(eq(mailOutbox.to, to))
    .orderBy(asc(mailOutbox.createdAt), asc(mailOutbox.id));
  return template ? rows.filter((m) => m.template === template) : rows;
}

/** The token of the link in a mail, read from the text part and checked against the HTML part. */
export function linkToken(mail: Mail): string {
  const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m?.[1]) throw new Error(`no token link in mail "${mail.subject}"`);
  expect(mail.html).toContain(`token=${m[1]}`);
  return m[1];
}

/** Every captured mail has a non-empty text part and an HTML part. */
export async function expectEveryMailHasBothParts(t: TestApp): Promise<number> {
  await t.platform.drain();
  const all = await t.platform.db.select().from(mailOutbox);
  for (const m of all) {
    expect(m.text.trim().length).toBeGreaterThan(0);
    expect(m.html).toStartWith("<!doctype html>");
    expect(m.html).toContain("</html>");
  }
  return all.length;
}

export async function auditRows(t: TestApp, action?: string) {
  const rows = await t.platform.db
    .select()
    .from(auditLog)
    .orderBy(asc(auditLog.createdAt), asc(auditLog.seq));
  return action ? rows.filter((r) => r.action === action) : rows;
}

/** No audit row mentions any of the given secrets (tokens, passwords) or their hashes. */
export async function expectAuditFreeOf(t: TestApp, secrets: string[]): Promise<void> {
  const text = JSON.stringify(await auditRows(t));
  for (const s of secrets) {
    expect(s.length).toBeGreaterThan(5);
    expect(text).not.toContain(s);
    expect(text).not.toContain(new Bun.CryptoHasher("sha256").update(s).digest("hex"));
  }
}

/** A signed-in member whose address is not verified yet. */
export async function seedUnverified(t: TestApp): Promise<SeededMember> {
  const m = await seedMember(t, "member");
  await t.platform.db.update(users).set({ emailVerifiedAt: null }).where(eq(users.id, m.userId));
  return m;
}

export function post(t: TestApp, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return t.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function userRow(t: TestApp, id: string) {
  const [row] = await t.platform.db.select().from(users).where(eq(users.id, id));
  if (!row) throw new Error("user not found");
  return row;
}

/** Deps for calling the account service directly, as the register route does. */
export function mailDeps(t: TestApp) {
  const { db, clock, mailer, config } = t.platform;
  return { db, clock, mailer, config };
}
