import type { AppEnv } from "../../src/http/context";
import { requirePermission } from "../../src/modules/auth/auth.middleware";
import { createTestApp, type TestApp } from "../support/app";
import type { SeededMember } from "../support/identity";

/**
 * A test app with three probe routes guarded exactly like real ones, so token behaviour is tested
 * through `requirePermission` without depending on which feature routes exist yet:
 * GET  /api/v1/_probe/members  → members:read  (every role)
 * POST /api/v1/_probe/members  → members:write (manager, admin)
 * GET  /api/v1/_probe/reports  → reports:read  (every role)
 * Mounted before the first request (Hono builds its router then).
 */
export async function createTokensApp(): Promise<TestApp> {
  const t = await createTestApp();
  const who = (c: import("hono").Context<AppEnv>) => {
    const p = c.get("principal");
    return c.json(p && "userId" in p ? { kind: p.kind, userId: p.userId, orgId: p.orgId } : {});
  };
  t.app.get("/api/v1/_probe/members", requirePermission("members:read"), who);
  t.app.post("/api/v1/_probe/members", requirePermission("members:write"), who);
  t.app.get("/api/v1/_probe/reports", requirePermission("reports:read"), who);
  return t;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

export interface CreatedPat {
  id: string;
  name: string;
  scopes: string[];
  token: string;
  prefix: string;
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** POST /api/v1/tokens as `member`; fails the test unless it is 201. */
export async function createPat(
  t: TestApp,
  member: SeededMember,
  body: { name?: string; scopes: string[]; expiresAt?: string | null },
): Promise<CreatedPat> {
  const res = await t.app.request("/api/v1/tokens", json({ name: "CI", ...body }, member.auth));
  if (res.status !== 201) throw new Error(`createPat: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedPat;
}

export interface CreatedAgent {
  id: string;
  name: string;
  token: string;
  prefix: string;
  scopes: string[];
  userId: string;
  memberId: string | null;
}

export async function createAgent(t: TestApp, member: SeededMember, name = "Laptop"): Promise<CreatedAgent> {
  const res = await t.app.request("/api/v1/agents", json({ name }, member.auth));
  if (res.status !== 201) throw new Error(`createAgent: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedAgent;
}
