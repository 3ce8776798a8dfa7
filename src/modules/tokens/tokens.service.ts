import type { Db } from "../../db/client";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { Clock } from "../../ports/clock";
import { hashToken, newOpaqueToken } from "../auth/auth.tokens";
import type { PrincipalInvalidation } from "../auth/principal-cache";
import { findMembershipId } from "../orgs/orgs.repo";
import { PERMISSIONS } from "../orgs/permissions";
import {
  findAgentByName,
  findMemberUser,
  findToken,
  insertToken,
  listTokens,
  revokeToken,
  type TokenCursor,
  type TokenKind,
  type TokenListRow,
} from "./tokens.repo";

/**
 * Scope areas are the permission prefixes (`members`, `own`, `audit`, …), so a new permission area
 * becomes a grantable scope without a second list to keep in step. The auth middleware asks for
 * `<area>:read` on GET/HEAD and `<area>:write` otherwise, and checks the role as well: a scope can
 * only narrow what the owner's current role allows, never widen it.
 */
export const SCOPE_AREAS = [
  ...new Set(Object.keys(PERMISSIONS).map((p) => p.split(":")[0] as string)),
].sort();
export const PAT_SCOPES = SCOPE_AREAS.flatMap((a) => [`${a}:read`, `${a}:write`]) as [string, ...string[]];
/** Agent tokens get this one scope, which no `<area>:<rw>` check accepts: ingest routes only. */
export const AGENT_SCOPES = ["ingest"];

/** Characters of the secret kept in clear to recognise a token in a list (`ttp_` + 8). */
const PREFIX_LENGTH = 12;

export interface TokenDeps {
  db: Db;
  clock: Clock;
  /** A revoked token must stop working at once, also where the auth middleware had it cached. */
  principals: PrincipalInvalidation;
}

/** Revokes `row`; false when a concurrent revoke won. Its owner's cached principals go either way. */
async function revoke(deps: TokenDeps, orgId: string, row: { id: string; userId: string }): Promise<boolean> {
  const done = await revokeToken(deps.db, orgId, row.id, deps.clock.now());
  await deps.principals.invalidateUser(row.userId);
  return done;
}

export interface Owner {
  userId: string;
  orgId: string;
}

export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface AgentView {
  id: string;
  name: string;
  prefix: string;
  userId: string;
  memberId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export function toTokenView(
  r: Pick<TokenListRow, Exclude<keyof TokenListRow, "memberId" | "kind">>,
): TokenView {
  return {
    id: r.id,
    name: r.name,
    scopes: JSON.parse(r.scopes) as string[],
    prefix: r.prefix,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    expiresAt: r.expiresAt?.toISOString() ?? null,
  };
}

export function toAgentView(r: TokenListRow): AgentView {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    userId: r.userId,
    memberId: r.memberId,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
  };
}

function invalidExpiry(message: string): AppError {
  return new AppError(422, "VALIDATION_FAILED", "Invalid request body", {
    errors: [{ path: "expiresAt", message, code: "invalid_expiry" }],
  });
}

async function mint(
  deps: TokenDeps,
  kind: TokenKind,
  owner: Owner,
  fields: { name: string; scopes: string[]; expiresAt: Date | null },
) {
  const now = deps.clock.now();
  const token = newOpaqueToken(kind === "pat" ? "pat" : "agent");
  const row = {
    id: newId("token", now),
    kind,
    userId: owner.userId,
    orgId: owner.orgId,
    name: fields.name,
    scopes: JSON.stringify(fields.scopes),
    tokenHash: await hashToken(token),
    prefix: token.slice(0, PREFIX_LENGTH),
    createdAt: now,
    lastUsedAt: null,
    expiresAt: fields.expiresAt,
    revokedAt: null,
  };
  await insertToken(deps.db, row);
  return { row, token };
}

/** Creates a personal access token; the secret is returned here and never again. */
export async function createPat(
  deps: TokenDeps,
  owner: Owner,
  input: { name: string; scopes: string[]; expiresAt?: string | null },
): Promise<TokenView & { token: string }> {
  const now = deps.clock.now();
  let expiresAt: Date | null = null;
  if (input.expiresAt) {
    expiresAt = new Date(input.expiresAt);
    if (expiresAt.getTime() <= now.getTime()) throw invalidExpiry("must be in the future");
    // At most one calendar year ahead; without `expiresAt` a token lives until revoked.
    const latest = new Date(now);
    latest.setUTCFullYear(latest.getUTCFullYear() + 1);
    if (expiresAt.getTime() > latest.getTime()) throw invalidExpiry("must be at most one year from now");
  }
  const scopes = [...new Set(input.scopes)].sort();
  const { row, token } = await mint(deps, "pat", owner, { name: input.name, scopes, expiresAt });
  return { ...toTokenView(row), token };
}

export async function listPats(deps: TokenDeps, owner: Owner, page: { limit: number; cursor?: TokenCursor }) {
  return listTokens(deps.db, owner.orgId, { kind: "pat", userId: owner.userId, ...page });
}

/** Revokes one of the owner's tokens; another user's (or organization's) token is not found. */
export async function revokePat(deps: TokenDeps, owner: Owner, id: string): Promise<TokenListRow> {
  const row = await findToken(deps.db, owner.orgId, "pat", id);
  if (!row || row.userId !== owner.userId) throw new AppError(404, "TOKEN_NOT_FOUND", "No such token");
  if (!(await revoke(deps, owner.orgId, row))) throw new AppError(404, "TOKEN_NOT_FOUND", "No such token");
  return row;
}

/**
 * Creates the agent token of one device for the caller's own membership. A device name is unique
 * among the member's live agents, so "one token per device" holds: revoke the old one to re-enroll.
 */
export async function createAgent(
  deps: TokenDeps,
  owner: Owner,
  input: { name: string },
): Promise<AgentView & { token: string; scopes: string[] }> {
  if (await findAgentByName(deps.db, owner.orgId, owner.userId, input.name))
    throw new AppError(
      409,
      "AGENT_EXISTS",
      `You already have an agent named "${input.name}"; revoke it first to enroll the device again`,
    );
  const { row, token } = await mint(deps, "agent", owner, {
    name: input.name,
    scopes: AGENT_SCOPES,
    expiresAt: null,
  });
  const memberId = await findMembershipId(deps.db, owner.orgId, owner.userId);
  return { ...toAgentView({ ...row, memberId }), token, scopes: AGENT_SCOPES };
}

/** Resolves `?memberId=` (a membership id of this organization) to its user; unknown → 404. */
export async function memberUser(deps: TokenDeps, orgId: string, memberId: string): Promise<string> {
  const userId = await findMemberUser(deps.db, orgId, memberId);
  if (!userId) throw new AppError(404, "MEMBER_NOT_FOUND", "No such member");
  return userId;
}

export async function listAgents(
  deps: TokenDeps,
  orgId: string,
  q: { userId?: string; limit: number; cursor?: TokenCursor },
) {
  return listTokens(deps.db, orgId, { kind: "agent", ...q });
}

/**
 * Revokes an agent. The owner may always revoke their own; `canManage` (a manager or admin of the
 * same organization) may revoke anyone's. Everyone else gets 404, as if it did not exist.
 */
export async function revokeAgent(
  deps: TokenDeps,
  caller: Owner & { canManage: boolean },
  id: string,
): Promise<TokenListRow> {
  const row = await findToken(deps.db, caller.orgId, "agent", id);
  if (!row || (row.userId !== caller.userId && !caller.canManage))
    throw new AppError(404, "AGENT_NOT_FOUND", "No such agent");
  if (!(await revoke(deps, caller.orgId, row))) throw new AppError(404, "AGENT_NOT_FOUND", "No such agent");
  return row;
}
