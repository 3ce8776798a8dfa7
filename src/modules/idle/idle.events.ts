/** Domain events of idle detection (declaration merging, see src/events/types.ts). Times ISO 8601 UTC. */
declare module "../../events/types" {
  interface DomainEvents {
    /**
     * A member has shown no input for the organization's `idleAlertSeconds` while a timer runs
     * (SPEC 3 "Idle detection"): the idle alert. Durable consumers: the alert email. Idle time found
     * only after it ended (input came back before a detector run saw it) is raised with its
     * `idle.ended` in the same commit; `idleSeconds` is then its whole length.
     */
    "idle.detected": {
      idlePeriodId: string;
      memberId: string;
      userId: string;
      entryId: string;
      startAt: string;
      idleSeconds: number;
    };
    /**
     * An idle period ended: input resumed or the timer stopped (`endAt`), or it was withdrawn
     * (`withdrawn`: the entry was deleted, or late heartbeats showed input inside it, leaving less
     * idle time than the alert threshold).
     */
    "idle.ended": {
      idlePeriodId: string;
      memberId: string;
      entryId: string;
      startAt: string;
      endAt: string | null;
      withdrawn: boolean;
    };
    /** Someone resolved an idle period on its entry: keep, discard or split the idle time. */
    "idle.resolved": {
      idlePeriodId: string;
      memberId: string;
      entryId: string;
      action: "keep" | "discard" | "split";
      startAt: string;
      endAt: string | null;
      /** Entries the resolution created (the idle piece of a split, the time after the idle period). */
      createdEntryIds: string[];
    };
  }
}

export {};
