/**
 * The catalogue of domain events. Feature modules add their events by declaration merging:
 *
 *   declare module "../../events/types" {
 *     interface DomainEvents { "timer.started": { entryId: string; memberId: string } }
 *   }
 *
 * Names are past tense, `<entity>.<verb>`.
 */
export interface DomainEvents {
  /** Emitted by `POST /admin/jobs/{id}/run`; lets operators see the event pipeline work end to end. */
  "job.triggered": { jobId: string; runId: string | null; trigger: "manual" | "cli" };
  /** An agent uploaded a screenshot; it is stored with its thumbnails (times ISO 8601). */
  "screenshot.created": {
    screenshotId: string;
    memberId: string;
    takenAt: string;
    width: number;
    height: number;
    size: number;
  };
  /** A screenshot and its images were deleted. */
  "screenshot.deleted": { screenshotId: string; memberId: string };
  /**
   * Time tracking (src/modules/time). Times are ISO 8601 UTC; `memberId` is the membership id.
   * A timer is a time entry with `endAt` null; starting one over a running timer (timer mode
   * `stop_previous`) records `timer.stopped` for the old entry and `timer.started` in the same batch.
   */
  "timer.started": TimeEntryEventBase & { projectId: string | null };
  "timer.stopped": TimeEntryEventBase & { endAt: string; durationSeconds: number };
  "time_entry.created": TimeEntryEventBase & {
    endAt: string | null;
    projectId: string | null;
    billable: boolean;
  };
  /** `previous` holds the times before the change, so day/week caches of both spans can be invalidated. */
  "time_entry.updated": TimeEntryEventBase & {
    endAt: string | null;
    projectId: string | null;
    billable: boolean;
    changes: string[];
    previous: { startAt: string; endAt: string | null };
  };
  /** Soft delete: the entry disappears from lists and reports. */
  "time_entry.deleted": TimeEntryEventBase & { endAt: string | null };
}

/** What every time-tracking event carries. */
export interface TimeEntryEventBase {
  orgId: string;
  memberId: string;
  entryId: string;
  startAt: string;
}

export type EventType = keyof DomainEvents;

export interface DomainEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  /** Owning organization, when the event belongs to one (webhooks and realtime route by it). */
  orgId: string | null;
  /** Who caused it, when known (user id, token id, "system"). */
  actor: string | null;
  occurredAt: Date;
  payload: DomainEvents[T];
}
