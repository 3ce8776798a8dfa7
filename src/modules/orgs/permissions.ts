import type { Role } from "../../db/schema";

/**
 * The fixed permission matrix (SPEC 2.1). Every route names one permission; nothing checks roles
 * directly, so the matrix lives here and only here.
 */
export const PERMISSIONS = {
  "org:settings": ["admin"],
  "org:webhooks": ["admin"],
  "org:backups": ["admin"],
  "org:retention": ["admin"],
  "audit:read": ["admin"],
  "members:read": ["admin", "manager", "member", "viewer"],
  "members:write": ["admin", "manager"],
  "members:delete": ["admin"],
  "invitations:manage": ["admin", "manager"],
  "data:read_all": ["admin", "manager"],
  "screenshots:read_all": ["admin", "manager"],
  "own:write": ["admin", "manager", "member"],
  "reports:read": ["admin", "manager", "member", "viewer"],
  // Tracking (SPEC 3). Reads of other members' data also need `data:read_all`; "own" rows are the caller's.
  "projects:read": ["admin", "manager", "member", "viewer"],
  "projects:write": ["admin", "manager"],
  "time:read": ["admin", "manager", "member", "viewer"],
  "time:write": ["admin", "manager", "member"],
  /** Edit or delete other members' entries, change org tracking settings' day-to-day parts. */
  "time:manage": ["admin", "manager"],
  "activity:read": ["admin", "manager", "member", "viewer"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function roleAllows(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}
