import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { nextLink } from "../../lib/pagination";
import { auditContext } from "../audit/audit.service";
import { currentMember } from "../auth/auth.middleware";
import {
  acceptInvitationRoute,
  createInvitationRoute,
  listInvitationsRoute,
  revokeInvitationRoute,
} from "./invitations.routes";
import * as invitations from "./invitations.service";
import { presentMember } from "./orgs.model";
import {
  deleteMemberRoute,
  getMemberRoute,
  getOrgRoute,
  listMembersRoute,
  updateMemberRoute,
  updateOrgRoute,
} from "./orgs.routes";
import * as orgs from "./orgs.service";

/** The caller after `orgMember()`: acting in the path's organization with a role. */
function caller(c: Context<AppEnv>) {
  const p = currentMember(c);
  if (!p.orgId || !p.role) throw new AppError(403, "FORBIDDEN", "You are not a member of an organization");
  return { userId: p.userId, role: p.role, orgId: p.orgId };
}

function deps(c: Context<AppEnv>) {
  const { db, clock, mailer, logger, config } = c.get("platform");
  const { audit, events, principals } = c.get("services");
  return { db, clock, audit, events, principals, mailer, logger, config, defer: c.get("defer") };
}

const presentOrg = (o: { id: string; name: string; createdAt: Date; updatedAt: Date }) => ({
  id: o.id,
  name: o.name,
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

/** Organizations, memberships and invitations. */
export function registerOrgs(app: Router): void {
  app.openapi(getOrgRoute, async (c) => {
    const { orgId } = c.req.valid("param");
    return c.json(presentOrg(await orgs.getOrganization(c.get("platform").db, orgId)), 200);
  });

  app.openapi(updateOrgRoute, async (c) => {
    const { orgId } = c.req.valid("param");
    const { name } = c.req.valid("json");
    return c.json(presentOrg(await orgs.renameOrganization(deps(c), orgId, name, auditContext(c))), 200);
  });

  app.openapi(listMembersRoute, async (c) => {
    const { orgId } = c.req.valid("param");
    const page = await orgs.listMembers(c.get("platform").db, orgId, c.req.valid("query"), caller(c));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json(page, 200);
  });

  app.openapi(getMemberRoute, async (c) => {
    const { orgId, memberId } = c.req.valid("param");
    const row = await orgs.getMember(c.get("platform").db, orgId, memberId);
    return c.json(presentMember(row, caller(c)), 200);
  });

  app.openapi(updateMemberRoute, async (c) => {
    const { orgId, memberId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const me = caller(c);
    const row = await orgs.changeMemberRole(deps(c), {
      orgId,
      memberId,
      role,
      caller: me,
      actor: auditContext(c),
    });
    return c.json(presentMember(row, me), 200);
  });

  app.openapi(deleteMemberRoute, async (c) => {
    const { orgId, memberId } = c.req.valid("param");
    await orgs.removeMember(deps(c), { orgId, memberId, caller: caller(c), actor: auditContext(c) });
    return c.body(null, 204);
  });

  app.openapi(createInvitationRoute, async (c) => {
    const { orgId } = c.req.valid("param");
    const { email, role } = c.req.valid("json");
    const invitation = await invitations.createInvitation(deps(c), {
      orgId,
      email,
      role,
      caller: caller(c),
      actor: auditContext(c),
    });
    c.header("Location", `/api/v1/orgs/${orgId}/invitations/${invitation.id}`);
    return c.json(invitation, 201);
  });

  app.openapi(listInvitationsRoute, async (c) => {
    const { orgId } = c.req.valid("param");
    const { db, clock } = c.get("platform");
    const page = await invitations.listInvitations(db, clock, orgId, c.req.valid("query"));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json(page, 200);
  });

  app.openapi(revokeInvitationRoute, async (c) => {
    const { orgId, invitationId } = c.req.valid("param");
    await invitations.revokeInvitation(deps(c), { orgId, invitationId, actor: auditContext(c) });
    return c.body(null, 204);
  });

  app.openapi(acceptInvitationRoute, async (c) => {
    const p = currentMember(c);
    // Joining an organization is a decision of the person, not of an integration's token.
    if (p.kind !== "user")
      throw new AppError(403, "FORBIDDEN", "Sign in as the invited user to accept an invitation");
    const { token } = c.req.valid("json");
    const out = await invitations.acceptForUser(deps(c), { token, userId: p.userId, actor: auditContext(c) });
    return c.json(out, 201);
  });
}
