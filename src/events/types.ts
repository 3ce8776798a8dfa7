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
