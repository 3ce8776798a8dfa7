import type { EventBus } from "../../events/bus";
import type { DomainEvent } from "../../events/types";
import { clockTime } from "../../lib/time";
import type { Platform } from "../../ports/platform";
import { renderIdleAlert } from "../mail/templates";
import "./idle.events";
import { alertMailFacts } from "./idle.repo";

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
