import type { EventBus } from "../../events/bus";
import type { DomainEvent } from "../../events/types";
import type { Platform } from "../../ports/platform";
import { renderIdleAlert } from "../mail/templates";
import "./idle.events";
import { alertMailFacts } from "./idle.repo";

/** "14:05 CET" in the member's time zone (UTC when it cannot be used). */
export function clockTime(at: Date, timeZone: string): string {
  const format = (tz: string) =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
    }).format(at);
  try {
    return format(timeZone);
  } catch {
    return format("UTC");
  }
}

/**
 * The idle alert's email, a durable consumer of `idle.detected` (retried by the outbox relay).
 * Sent only when the organization turned `idleAlertEmail` on and the member is still idle: a period
 * that already ended, was resolved or whose entry was deleted by the time it is delivered gets none.
 */
export function registerIdleAlertMail(
  events: EventBus,
  platform: Pick<Platform, "db" | "mailer" | "config" | "clock">,
) {
  events.consume("mail.idle-alert", ["idle.detected"], async (event) => {
    const { idlePeriodId } = (event as DomainEvent<"idle.detected">).payload;
    const f = await alertMailFacts(platform.db, idlePeriodId);
    if (!f?.email_on || f.status !== "open" || f.end_at !== null) return;
    const start = new Date(f.start_at);
    await platform.mailer.send(
      renderIdleAlert(platform.config, {
        to: f.email,
        name: f.display_name || f.name,
        idleMinutes: Math.floor((platform.clock.now().getTime() - f.start_at) / 60_000),
        since: clockTime(start, f.timezone),
        entry: [f.project, f.description].filter(Boolean).join(" — ") || "(no description)",
        idlePeriodId,
      }),
    );
  });
}
