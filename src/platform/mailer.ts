import { OutboxMailer } from "../adapters/mail/outbox";
import { ResendMailer } from "../adapters/mail/resend";
import type { Config } from "../config/env";
import type { Db } from "../db/client";
import type { Clock } from "../ports/clock";
import type { Mailer } from "../ports/mail";
import type { Logger } from "../ports/platform";

/** Resend when RESEND_API_KEY is set (it only needs fetch, so Workers too); otherwise the dev outbox. */
export function createMailer(config: Config, deps: { db: Db; clock: Clock; logger: Logger }): Mailer {
  return config.RESEND_API_KEY
    ? new ResendMailer({
        apiKey: config.RESEND_API_KEY,
        baseUrl: config.RESEND_BASE_URL,
        defaultFrom: config.MAIL_FROM,
      })
    : new OutboxMailer({ ...deps, defaultFrom: config.MAIL_FROM });
}
