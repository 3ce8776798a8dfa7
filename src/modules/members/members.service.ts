import type { Db } from "../../db/client";
import type { Presence } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { AppError } from "../../lib/errors";
import type { Clock } from "../../ports/clock";
import type { KvStore } from "../../ports/kv";
import "../activity/activity.events";
import { findMember, findMemberByUser, type MemberRow, updateProfile } from "./members.repo";
import { statsCache } from "./stats.cache";

export interface MembersDeps {
  db: Db;
  clock: Clock;
  kv: KvStore;
  events: EventBus;
}

/** Who is asking, and whether they may see other members' tracked data. */
export interface Viewer {
  orgId: string;
  userId: string;
  readAll: boolean;
}

const notFound = () => new AppError(404, "MEMBER_NOT_FOUND", "No such member");

/** `me` or a membership id of the caller's organization (another organization's: 404). */
export async function resolveMember(
  db: Db,
  viewer: Pick<Viewer, "orgId" | "userId">,
  id: string,
): Promise<MemberRow> {
  const row =
    id === "me"
      ? await findMemberByUser(db, viewer.orgId, viewer.userId)
      : await findMember(db, viewer.orgId, id);
  if (!row) throw notFound();
  return row;
}

/** A member whose tracked data the viewer may read: themselves, or anyone with `data:read_all`. */
export async function readableMember(db: Db, viewer: Viewer, id: string): Promise<MemberRow> {
  const row = await resolveMember(db, viewer, id);
  if (row.userId !== viewer.userId && !viewer.readAll)
    throw new AppError(403, "FORBIDDEN", "Only managers and admins may read other members' activity");
  return row;
}

// ------------------------------------------------------------------ profile

export interface ProfileView {
  memberId: string;
  userId: string;
  name: string;
  displayName: string | null;
  timezone: string;
  role: string;
  status: Presence;
  lastSeenAt: string | null;
  updatedAt: string;
}

export function profileView(m: MemberRow): ProfileView {
  return {
    memberId: m.id,
    userId: m.userId,
    name: m.displayName ?? m.name,
    displayName: m.displayName,
    timezone: m.timezone,
    role: m.role,
    status: m.status,
    lastSeenAt: m.lastSeenAt?.toISOString() ?? null,
    updatedAt: m.updatedAt.toISOString(),
  };
}

/**
 * Changes a member's display name and/or time zone: the member themselves (with `own:write`) or a
 * manager/admin (`members:write`). Invalidates the organization's cached stats.
 */
export async function patchProfile(
  deps: MembersDeps,
  caller: { orgId: string; userId: string; canSelf: boolean; canOthers: boolean; actor: string },
  id: string,
  patch: { displayName?: string | null; timezone?: string },
): Promise<{ before: MemberRow; after: MemberRow; changes: string[] }> {
  const before = await resolveMember(deps.db, caller, id);
  const self = before.userId === caller.userId;
  if (self ? !caller.canSelf : !caller.canOthers)
    throw new AppError(
      403,
      "FORBIDDEN",
      self
        ? "Your role cannot edit your profile"
        : "Only managers and admins may edit other members' profiles",
    );
  const changes = (Object.keys(patch) as (keyof typeof patch)[]).filter(
    (k) => patch[k] !== undefined && patch[k] !== before[k],
  );
  if (changes.length === 0) return { before, after: before, changes };
  const now = deps.clock.now();
  if (!(await updateProfile(deps.db, caller.orgId, before.id, patch, now))) throw notFound();
  const after = { ...before, ...patch, updatedAt: now } as MemberRow;
  await deps.events.emit(
    deps.events.create(
      "member.profile_updated",
      { membershipId: before.id, userId: before.userId, changes },
      { orgId: caller.orgId, actor: caller.actor },
    ),
  );
  await statsCache.invalidate(deps.kv, caller.orgId);
  return { before, after, changes };
}
