import type { Role } from "../../db/schema";
import type { AuditEntry } from "../audit/audit.service";
import type { MemberRow } from "./orgs.repo";
import { roleAllows } from "./permissions";

/** Who did it, for the audit row (from `auditContext(c)`). */
export type AuditActor = Pick<AuditEntry, "actorType" | "actorId" | "ip" | "userAgent" | "requestId">;

/** The member acting: their user id and current role in the organization. */
export interface Caller {
  userId: string;
  role: Role;
}

/** What a member looks like to the caller: emails only for roles that manage members, and your own. */
export function presentMember(row: MemberRow, viewer: Caller) {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    ...(roleAllows(viewer.role, "members:write") || row.userId === viewer.userId ? { email: row.email } : {}),
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
