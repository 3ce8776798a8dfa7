import type { Db } from "../../db/client";
import { mailOutbox } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { Clock } from "../../ports/clock";
import type { Mailer, MailMessage, SentMail } from "../../ports/mail";
import type { Logger } from "../../ports/platform";

/**
 * Development transport: stores each message in `mail_outbox` (viewable at /dev/mail) and logs
 * that it did, instead of sending. Tests read the same table as captured mail.
 */
export class OutboxMailer implements Mailer {
  readonly name = "outbox";
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger; defaultFrom: string }) {}

  async send(message: MailMessage): Promise<SentMail> {
    const now = this.deps.clock.now();
    const id = newId("mail", now);
    await this.deps.db.insert(mailOutbox).values({
      id,
      to: message.to,
      from: message.from ?? this.deps.defaultFrom,
      subject: message.subject,
      text: message.text,
      html: message.html,
      template: message.template ?? null,
      createdAt: now,
    });
    this.deps.logger.info(
      { mailId: id, to: message.to, subject: message.subject, template: message.template },
      "mail stored in dev outbox (not sent)",
    );
    return { id };
  }
}
