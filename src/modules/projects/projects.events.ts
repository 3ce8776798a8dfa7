/** Domain events of projects (declaration merging, see src/events/types.ts). */
declare module "../../events/types" {
  interface DomainEvents {
    /**
     * A project was edited, archived or restored; the payload is its state after the change. Its
     * name shows on running timers (member stats), so caches holding it subscribe.
     */
    "project.updated": { projectId: string; name: string; archived: boolean };
    /** An unused project was deleted (one that live entries reference cannot be). */
    "project.deleted": { projectId: string };
  }
}

export {};
