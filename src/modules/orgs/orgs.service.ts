import { z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import type { Role } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import type { Clock } from "../../ports/clock";
import type { AuditService } from "../audit/audit.service";
import "./orgs.events";
import type { PrincipalInvalidation } from "../auth/principal-cache";
import { type AuditActor, type Caller, presentMember } from "./orgs.model";
import * as repo from "./orgs.repo";

export { acceptInvitationToken, auditInvitationAccepted } from "./invitations.service";
export type { AuditActor, Caller };

export interface OrgDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  events: EventBus;
  /** Role changes and removals reach the auth middleware's cache before the response. */
  principals: PrincipalInvalidation;
}

export const notFound = (what = "organization") =>
  new AppError(404, "NOT_FOUND", `No such ${what} in this organization`);

/** Registration: a new organization with `userId` as its only admin (one atomic batch). */
export async function createOrganizationWithAdmin(
  db: Db,
  clock: Clock,
  input: { name: string; userId: string },
): Promise<{ orgId: string }> {
  const now = clock.now();
  const orgId = newId("org", now);
  await repo.insertOrgWithAdmin(db, {
    orgId,
    membershipId: newId("membership", now),
    name: input.name.trim(),
    userId: input.userId,
    now,
  });
  return { orgId };
}

export async function getOrganization(db: Db, orgId: string) {
  const org = await repo.findOrg(db, orgId);
  if (!org) throw notFound();
  return org;
}

export async function renameOrganization(deps: OrgDeps, orgId: string, name: string, actor: AuditActor) {
  const before = await getOrganization(deps.db, orgId);
  if (before.name === name) return before;
  const org = await repo.updateOrgName(deps.db, orgId, name, deps.clock.now());
  // Cached principals carry their organization's name; renames are rare enough to drop them all.
  if (org) await deps.principals.invalidateAll();
  if (!org) throw notFound();
  await deps.audit.record({
    ...actor,
    orgId,
    action: "org.updated",
    targetType: "organization",
    targetId: orgId,
    metadata: { changes: { name: { from: before.name, to: name } } },
  });
  return org;
}

const MemberCursor = z.object({ t: CursorInstant, i: z.string().max(64) });

export async function listMembers(
  db: Db,
  orgId: string,
  query: { limit: number; cursor?: string; role?: Role },
  viewer: Caller,
) {
  const after = query.cursor ? decodeCursor(query.cursor, MemberCursor) : undefined;
  const rows = await repo.listMembers(db, orgId, {
    limit: query.limit,
    role: query.role,
    after: after ? { createdAt: after.t, id: after.i } : undefined,
  });
  const page = pageOf(rows, query.limit, (r) => ({ t: r.createdAt.getTime(), i: r.id }));
  return { data: page.data.map((r) => presentMember(r, viewer)), nextCursor: page.nextCursor };
}

export async function getMember(db: Db, orgId: string, memberId: string) {
  const row = await repo.findMember(db, orgId, memberId);
  if (!row) throw notFound("member");
  return row;
}

const lastAdmin = () =>
  new AppError(
    409,
    "LAST_ADMIN",
    "An organization must keep at least one admin; promote another member first",
  );

/**
 * Role change rules: only an admin grants `admin` or changes an admin's role; the last admin can
 * never be demoted. The check against the last admin is also enforced inside the UPDATE, so two
 * admins demoting each other concurrently leave one admin.
 */
export async function changeMemberRole(
  deps: OrgDeps,
  args: { orgId: string; memberId: string; role: Role; caller: Caller; actor: AuditActor },
) {
  const { db, clock } = deps;
  const { orgId, memberId, role, caller } = args;
  for (let attempt = 0; attempt < 3; attempt++) {
    const target = await getMember(db, orgId, memberId);
    if (caller.role !== "admin" && (target.role === "admin" || role === "admin"))
      throw new AppError(403, "FORBIDDEN", "Only an admin can grant the admin role or change an admin");
    if (target.role === role) return target;
    if (target.role === "admin" && (await repo.countAdmins(db, orgId)) <= 1) throw lastAdmin();
    const now = clock.now();
    if (!(await repo.updateRole(db, { orgId, memberId, from: target.role, to: role, now }))) continue;
    await deps.principals.invalidateUser(target.userId);
    await deps.audit.record({
      ...args.actor,
      orgId,
      action: "member.role_changed",
      targetType: "member",
      targetId: memberId,
      metadata: { userId: target.userId, from: target.role, to: role },
    });
    await deps.events.emit(
      deps.events.create(
        "member.updated",
        { membershipId: memberId, userId: target.userId, role, previousRole: target.role },
        { orgId, actor: caller.userId },
      ),
    );
    return { ...target, role, updatedAt: now };
  }
  // Lost the race three times: re-read to report why.
  const current = await getMember(db, orgId, memberId);
  if (current.role === "admin" && (await repo.countAdmins(db, orgId)) <= 1) throw lastAdmin();
  throw new AppError(409, "CONFLICT", "The member changed concurrently; retry");
}

/** Removes a member (admin only, never the last admin) and revokes their access to this organization. */
export async function removeMember(
  deps: OrgDeps,
  args: { orgId: string; memberId: string; caller: Caller; actor: AuditActor },
): Promise<void> {
  const { db, clock } = deps;
  const { orgId, memberId } = args;
  for (let attempt = 0; attempt < 3; attempt++) {
    const target = await getMember(db, orgId, memberId);
    if (target.role === "admin" && (await repo.countAdmins(db, orgId)) <= 1) throw lastAdmin();
    const out = await repo.deleteMemberAndRevoke(db, {
      orgId,
      memberId,
      userId: target.userId,
      role: target.role,
      now: clock.now(),
    });
    if (!out.deleted) continue;
    await deps.principals.invalidateUser(target.userId);
    await deps.audit.record({
      ...args.actor,
      orgId,
      action: "member.removed",
      targetType: "member",
      targetId: memberId,
      metadata: {
        userId: target.userId,
        role: target.role,
        revokedSessions: out.sessions,
        revokedTokens: out.tokens,
      },
    });
    await deps.events.emit(
      deps.events.create(
        "member.removed",
        { membershipId: memberId, userId: target.userId, role: target.role },
        { orgId, actor: args.caller.userId },
      ),
    );
    return;
  }
  const current = await getMember(db, orgId, memberId);
  if (current.role === "admin") throw lastAdmin();
  throw new AppError(409, "CONFLICT", "The member changed concurrently; retry");
}
