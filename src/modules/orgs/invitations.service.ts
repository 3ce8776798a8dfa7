import { z } from "@hono/zod-openapi";
import type { Config } from "../../config/env";
import type { Db } from "../../db/client";
import type { Role } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { CursorInstant, decodeCursor, pageOf } from "../../lib/pagination";
import type { Clock } from "../../ports/clock";
import type { Mailer } from "../../ports/mail";
import type { Logger } from "../../ports/platform";
import type { AuditService } from "../audit/audit.service";
import { renderInvitation } from "../mail/templates";
import "./orgs.events";
import type { PrincipalInvalidation } from "../auth/principal-cache";
import * as repo from "./invitations.repo";
import { type AuditActor, type Caller, presentMember } from "./orgs.model";
import { findMember, findMemberByEmail, findMemberByUser, findOrg, findUser } from "./orgs.repo";

export const INVITATION_TTL_MS = 7 * 86_400_000;

export interface InvitationDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  events: EventBus;
  mailer: Mailer;
  logger: Logger;
  config: Pick<Config, "publicUrl">;
  /** Runs work after the response: a request never waits on an email. */
  defer: (work: Promise<unknown>) => void;
  /** A new membership can give a session a role; the auth middleware's cache hears of it. */
  principals: PrincipalInvalidation;
}

const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** The API shape of an invitation. The token is never part of it (only its SHA-256 is stored). */
export function presentInvitation(row: repo.InvitationRow, now: Date) {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: repo.statusOf(row, now),
    invitedBy: row.invitedBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Invites `email` with `role`: a 32-byte token (only its SHA-256 stored) valid 7 days, mailed as a
 * link. Managers cannot invite admins; inviting an existing member is a conflict; re-inviting
 * someone with an open invitation replaces it.
 */
export async function createInvitation(
  deps: InvitationDeps,
  args: { orgId: string; email: string; role: Role; caller: Caller; actor: AuditActor },
) {
  const { db, clock } = deps;
  const { orgId, role, caller } = args;
  const email = normaliseEmail(args.email);
  if (role === "admin" && caller.role !== "admin")
    throw new AppError(403, "FORBIDDEN", "Only an admin can invite another admin");
  const org = await findOrg(db, orgId);
  if (!org) throw new AppError(404, "NOT_FOUND", "No such organization");
  if (await findMemberByEmail(db, orgId, email))
    throw new AppError(409, "ALREADY_MEMBER", "This person is already a member of the organization");

  const now = clock.now();
  const token = randomToken(32);
  const row = {
    id: newId("invitation", now),
    orgId,
    email,
    role,
    tokenHash: await sha256Hex(token),
    invitedBy: caller.userId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
    acceptedAt: null,
    revokedAt: null,
  };
  const { superseded } = await repo.insertInvitation(db, row);
  await deps.audit.record({
    ...args.actor,
    orgId,
    action: "invitation.created",
    targetType: "invitation",
    targetId: row.id,
    metadata: { email, role, supersededInvitations: superseded },
  });

  const inviter = await findUser(db, caller.userId);
  const message = renderInvitation(
    { publicUrl: deps.config.publicUrl },
    {
      to: email,
      orgName: org.name,
      inviterName: inviter?.name ?? null,
      role,
      token,
      expiresAt: row.expiresAt,
    },
  );
  deps.defer(
    deps.mailer
      .send(message)
      .catch((err) => deps.logger.error({ err, invitationId: row.id }, "invitation email failed")),
  );
  return presentInvitation(row, now);
}

const InvitationCursor = z.object({ t: CursorInstant, i: z.string().max(64) });

export async function listInvitations(
  db: Db,
  clock: Clock,
  orgId: string,
  query: { limit: number; cursor?: string; status?: repo.InvitationStatus },
) {
  const now = clock.now();
  const before = query.cursor ? decodeCursor(query.cursor, InvitationCursor) : undefined;
  const rows = await repo.listInvitations(db, orgId, {
    limit: query.limit,
    now,
    status: query.status,
    before: before ? { createdAt: before.t, id: before.i } : undefined,
  });
  const page = pageOf(rows, query.limit, (r) => ({ t: r.createdAt.getTime(), i: r.id }));
  return { data: page.data.map((r) => presentInvitation(r, now)), nextCursor: page.nextCursor };
}

/** Revokes an open invitation. Revoking one already revoked is a no-op; an accepted one is a conflict. */
export async function revokeInvitation(
  deps: Pick<InvitationDeps, "db" | "clock" | "audit">,
  args: { orgId: string; invitationId: string; actor: AuditActor },
): Promise<void> {
  const { db, clock } = deps;
  const { orgId, invitationId } = args;
  const row = await repo.findInvitation(db, orgId, invitationId);
  if (!row) throw new AppError(404, "NOT_FOUND", "No such invitation in this organization");
  if (row.acceptedAt)
    throw new AppError(
      409,
      "INVITATION_ACCEPTED",
      "The invitation was already accepted; remove the member instead",
    );
  if (!(await repo.markRevoked(db, orgId, invitationId, clock.now()))) return;
  await deps.audit.record({
    ...args.actor,
    orgId,
    action: "invitation.revoked",
    targetType: "invitation",
    targetId: invitationId,
    metadata: { email: row.email, role: row.role },
  });
}

export type AcceptOutcome =
  | {
      ok: true;
      orgId: string;
      orgName: string;
      role: Role;
      invitationId: string;
      membershipId: string;
      email: string;
    }
  | { ok: false; reason: "not_found" | "email_mismatch" | "already_member" };

/**
 * Accepts an invitation for `userId` whose (normalised) email must be the invited address. One
 * time: unknown, expired, revoked and used tokens all read as `not_found`; of two concurrent
 * accepts exactly one succeeds. An already-member keeps their role and the token stays unused.
 */
export async function acceptInvitation(
  db: Db,
  clock: Clock,
  input: { token: string; userId: string; email: string },
): Promise<AcceptOutcome> {
  const now = clock.now();
  const found = await repo.findInvitationByHash(db, await sha256Hex(input.token));
  if (!found || repo.statusOf(found.invitation, now) !== "pending") return { ok: false, reason: "not_found" };
  const inv = found.invitation;
  if (inv.email !== normaliseEmail(input.email)) return { ok: false, reason: "email_mismatch" };
  if (await findMemberByUser(db, inv.orgId, input.userId)) return { ok: false, reason: "already_member" };
  const membershipId = newId("membership", now);
  if (!(await repo.claimInvitation(db, { invitationId: inv.id, userId: input.userId, membershipId, now })))
    return { ok: false, reason: "not_found" };
  const member = await findMemberByUser(db, inv.orgId, input.userId);
  return {
    ok: true,
    orgId: inv.orgId,
    orgName: found.orgName,
    role: member?.role ?? inv.role,
    invitationId: inv.id,
    membershipId: member?.id ?? membershipId,
    email: inv.email,
  };
}

/**
 * Contract for registration (`POST /auth/register` with `invitationToken`): adds the membership and
 * returns the organization and role, or null when the token is unknown, expired, revoked, used, or
 * was sent to another address. The caller audits `invitation.accepted` (it has the request context).
 */
export async function acceptInvitationToken(
  db: Db,
  clock: Clock,
  input: { token: string; userId: string; email: string },
): Promise<{ orgId: string; role: Role; invitationId: string; membershipId: string } | null> {
  const out = await acceptInvitation(db, clock, input);
  if (!out.ok) return null;
  return { orgId: out.orgId, role: out.role, invitationId: out.invitationId, membershipId: out.membershipId };
}

/** `invitation.accepted` for the organization joined; registration calls this too, with its request context. */
export async function auditInvitationAccepted(
  audit: AuditService,
  actor: AuditActor,
  accepted: { orgId: string; role: Role; invitationId: string; membershipId: string },
): Promise<void> {
  await audit.record({
    ...actor,
    orgId: accepted.orgId,
    action: "invitation.accepted",
    targetType: "invitation",
    targetId: accepted.invitationId,
    metadata: { membershipId: accepted.membershipId, role: accepted.role },
  });
}

/** `POST /invitations/accept`: a signed-in user joins the organization they were invited to. */
export async function acceptForUser(
  deps: Pick<InvitationDeps, "db" | "clock" | "audit" | "events" | "principals">,
  args: { token: string; userId: string; actor: AuditActor },
) {
  const { db, clock } = deps;
  const user = await findUser(db, args.userId);
  if (!user) throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
  const out = await acceptInvitation(db, clock, { token: args.token, userId: user.id, email: user.email });
  if (!out.ok) {
    if (out.reason === "email_mismatch")
      throw new AppError(
        403,
        "INVITATION_EMAIL_MISMATCH",
        "This invitation was sent to another email address; sign in with that address to accept it",
      );
    if (out.reason === "already_member")
      throw new AppError(409, "ALREADY_MEMBER", "You are already a member of this organization");
    throw new AppError(
      404,
      "INVITATION_NOT_FOUND",
      "The invitation is invalid, expired, revoked or already used",
    );
  }
  await deps.principals.invalidateUser(user.id);
  await auditInvitationAccepted(deps.audit, args.actor, out);
  await deps.events.emit(
    deps.events.create(
      "member.added",
      { membershipId: out.membershipId, userId: user.id, role: out.role },
      { orgId: out.orgId, actor: user.id },
    ),
  );
  const member = await findMember(db, out.orgId, out.membershipId);
  if (!member) throw new AppError(409, "CONFLICT", "The membership changed concurrently; retry");
  return {
    organization: { id: out.orgId, name: out.orgName },
    member: presentMember(member, { userId: user.id, role: member.role }),
  };
}
