export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Template name, for metrics, logs and the dev outbox. */
  template?: string;
  from?: string;
  replyTo?: string;
  headers?: Record<string, string>;
}

export interface SentMail {
  id: string;
}

/** Sends one email. Implementations: Resend (production) and the dev outbox table. */
export interface Mailer {
  readonly name: string;
  send(message: MailMessage): Promise<SentMail>;
}
