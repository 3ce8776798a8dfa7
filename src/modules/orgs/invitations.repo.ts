import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { invitations, memberships, organizations } from "../../db/schema";

export type InvitationRow = typeof invitations.$inferSelect;
export type InvitationStatus = "pending" | "accepted" | "revoked" | "expired";

export function statusOf(row: InvitationRow, now: Date): InvitationStatus {
  if (row.acceptedAt) return "accepted";
  if (row.revokedAt) return "revoked";
  return row.expiresAt <= now ? "expired" : "pending";
}

const pending = (now: Date) =>
  and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now));

/**
 * Stores a new invitation; any still-open invitation to the same address in the same organization
 * is revoked in the same batch (newest wins: only the last link sent works).
 */
export async function insertInvitation(
  db: Db,
  row: typeof invitations.$inferInsert & { createdAt: Date },
): Promise<{ superseded: number }> {
  const [superseded] = await db.batch([
    db
      .update(invitations)
      .set({ revokedAt: row.createdAt })
      .where(
        and(
          eq(invitations.orgId, row.orgId),
          eq(invitations.email, row.email),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
        ),
      )
      .returning({ id: invitations.id }),
    db.insert(invitations).values(row),
  ]);
  return { superseded: superseded.length };
}

/** Newest first; `before` is the (createdAt, id) of the last row already served. */
export async function listInvitations(
  db: Db,
  orgId: string,
  opts: { limit: number; now: Date; status?: InvitationStatus; before?: { createdAt: number; id: string } },
): Promise<InvitationRow[]> {
  const { now } = opts;
  const conds: (SQL | undefined)[] = [eq(invitations.orgId, orgId)];
  if (opts.status === "pending") conds.push(pending(now));
  if (opts.status === "accepted") conds.push(isNotNull(invitations.acceptedAt));
  if (opts.status === "revoked")
    conds.push(and(isNull(invitations.acceptedAt), isNotNull(invitations.revokedAt)));
  if (opts.status === "expired")
    conds.push(
      and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), lte(invitations.expiresAt, now)),
    );
  if (opts.before) {
    const at = new Date(opts.before.createdAt);
    conds.push(
      or(
        lt(invitations.createdAt, at),
        and(eq(invitations.createdAt, at), lt(invitations.id, opts.before.id)),
      ),
    );
  }
  return db
    .select()
    .from(invitations)
    .where(and(...conds))
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(opts.limit + 1);
}

export async function findInvitation(db: Db, orgId: string, id: string): Promise<InvitationRow | null> {
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)))
    .limit(1);
  return row ?? null;
}

export async function markRevoked(db: Db, orgId: string, id: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(invitations)
    .set({ revokedAt: now })
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.id, id),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
      ),
    )
    .returning({ id: invitations.id });
  return rows.length === 1;
}

export async function findInvitationByHash(db: Db, tokenHash: string) {
  const [row] = await db
    .select({ invitation: invitations, orgName: organizations.name })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .where(eq(invitations.tokenHash, tokenHash))
    .limit(1);
  return row ?? null;
}

/**
 * Consumes an invitation and creates the membership in one atomic batch. The UPDATE claims the
 * invitation only while it is still pending; the INSERT … SELECT copies org and role from the
 * invitation only if it is now marked accepted, so an invitation revoked or taken in between
 * creates no membership, and of two concurrent accepts exactly one claims it.
 */
export async function claimInvitation(
  db: Db,
  args: { invitationId: string; userId: string; membershipId: string; now: Date },
): Promise<boolean> {
  const { invitationId, userId, membershipId, now } = args;
  const at = now.getTime();
  const [claimed] = await db.batch([
    db
      .update(invitations)
      .set({ acceptedAt: now })
      .where(and(eq(invitations.id, invitationId), pending(now)))
      .returning({ id: invitations.id }),
    db.run(sql`insert into ${memberships} (id, org_id, user_id, role, created_at, updated_at)
      select ${membershipId}, i.org_id, ${userId}, i.role, ${at}, ${at} from invitations as i
      where i.id = ${invitationId} and i.accepted_at = ${at}
      on conflict do nothing`),
  ]);
  return claimed.length === 1;
}
