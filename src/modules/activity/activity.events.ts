import type { Presence } from "../../db/schema";

/** Domain events of activity tracking (declaration merging, see src/events/types.ts). */
declare module "../../events/types" {
  interface DomainEvents {
    /** A member's presence changed: by heartbeat ingest, or by the presence job (idle, offline). */
    "member.status_changed": { membershipId: string; userId: string; from: Presence; to: Presence };
    /** A member's tracking profile (display name, time zone) changed. */
    "member.profile_updated": { membershipId: string; userId: string; changes: string[] };
  }
}
