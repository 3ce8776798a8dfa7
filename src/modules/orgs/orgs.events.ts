import type { Role } from "../../db/schema";

/** Domain events of organizations and memberships (declaration merging, see src/events/types.ts). */
declare module "../../events/types" {
  interface DomainEvents {
    /** A user joined an organization (accepted an invitation). */
    "member.added": { membershipId: string; userId: string; role: Role };
    /** A member's role changed. */
    "member.updated": { membershipId: string; userId: string; role: Role; previousRole: Role };
    /** A member was removed; their tokens and sessions in the organization were revoked. */
    "member.removed": { membershipId: string; userId: string; role: Role };
  }
}
