import { Resend } from "resend";
import type { Mailer, MailMessage, SentMail } from "../../ports/mail";

export interface ResendMailerOptions {
  apiKey: string;
  /** API base URL (RESEND_BASE_URL); default https://api.resend.com. */
  baseUrl?: string;
  defaultFrom: string;
  /** Give up on one request after this long (default 10 s). */
  timeoutMs?: number;
}

/**
 * A failed send. The message carries the provider's error name and HTTP status only: never the API
 * key, and never the provider's free-text message (it can echo request data back).
 */
export class MailDeliveryError extends Error {
  readonly status: number | null;
  readonly providerCode: string;
  constructor(providerCode: string, status: number | null) {
    super(`resend: send failed (${providerCode}${status ? `, HTTP ${status}` : ""})`);
    this.name = "MailDeliveryError";
    this.providerCode = providerCode;
    this.status = status;
  }
}

/** Sends through Resend's HTTP API with the official `resend` SDK (fetch-based: Bun and Workers). */
export class ResendMailer implements Mailer {
  readonly name = "resend";
  readonly #client: Resend;
  readonly #from: string;
  readonly #timeoutMs: number;

  constructor(opts: ResendMailerOptions) {
    // Passing baseUrl explicitly (rather than relying on process.env) also works on Workers.
    this.#client = new Resend(opts.apiKey, opts.baseUrl ? { baseUrl: opts.baseUrl.replace(/\/$/, "") } : {});
    this.#from = opts.defaultFrom;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async send(message: MailMessage): Promise<SentMail> {
    const { data, error } = await this.#client.emails.send(
      {
        from: message.from ?? this.#from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        ...(message.replyTo ? { replyTo: message.replyTo } : {}),
        ...(message.headers ? { headers: message.headers } : {}),
        ...(message.template ? { tags: [{ name: "template", value: message.template }] } : {}),
      },
      { signal: AbortSignal.timeout(this.#timeoutMs) },
    );
    if (error || !data?.id) {
      const e = error as { name?: unknown; statusCode?: unknown } | null;
      const code = typeof e?.name === "string" && /^[a-z_]{1,64}$/.test(e.name) ? e.name : "unknown_error";
      throw new MailDeliveryError(code, typeof e?.statusCode === "number" ? e.statusCode : null);
    }
    return { id: data.id };
  }
}
