import type { MailMessage } from "../../ports/mail";

/**
 * Transactional mail templates. Every message has a plain-text and an HTML part; user-supplied
 * values (names, organization names) are HTML-escaped in the HTML part and kept to one line in
 * subjects. Links are built from `publicUrl` only, never from request headers (a forged Host header
 * must not be able to redirect a reset link to an attacker's site).
 */
export interface MailContext {
  /** Base URL of the product (config.publicUrl), without a trailing slash. */
  publicUrl: string;
}

export const PRODUCT = "TeamTrack";

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** Control characters (CR/LF included) become spaces: subjects and single-line values stay one line. */
function oneLine(value: string, max = 120): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const flat = value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `${publicUrl}${path}?k=v`, with the values URL-encoded. */
export function appLink(ctx: MailContext, path: string, params: Record<string, string> = {}): string {
  const url = new URL(path, `${ctx.publicUrl.replace(/\/$/, "")}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

interface Content {
  template: string;
  to: string;
  subject: string;
  greetingName: string;
  /** Paragraphs of plain text; escaped for the HTML part. */
  paragraphs: string[];
  action?: { label: string; url: string };
  /** Small print after the action (why you got this, what to do if it was not you). */
  notes?: string[];
}

function compose(c: Content): MailMessage {
  const name = oneLine(c.greetingName, 80);
  const greeting = name ? `Hi ${name},` : "Hi,";
  const notes = c.notes ?? [];
  const text = [
    greeting,
    ...c.paragraphs,
    ...(c.action ? [`${c.action.label}: ${c.action.url}`] : []),
    ...notes,
    `— ${PRODUCT}`,
  ].join("\n\n");

  const p = (s: string) => `<p style="margin:0 0 16px">${escapeHtml(s)}</p>`;
  const action = c.action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(c.action.url)}" style="background:#2563eb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(c.action.label)}</a></p>` +
      `<p style="margin:0 0 16px;font-size:13px;color:#555">Or paste this link into your browser:<br><span style="word-break:break-all">${escapeHtml(c.action.url)}</span></p>`
    : "";
  const small = notes
    .map((n) => `<p style="margin:0 0 8px;font-size:13px;color:#555">${escapeHtml(n)}</p>`)
    .join("");
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(oneLine(c.subject))}</title></head>` +
    `<body style="margin:0;padding:24px;background:#f6f7f9;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#111;line-height:1.5">` +
    `<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:32px">` +
    p(greeting) +
    c.paragraphs.map(p).join("") +
    action +
    small +
    `<p style="margin:24px 0 0;color:#555">— ${PRODUCT}</p></div></body></html>`;

  return { to: c.to, subject: oneLine(c.subject, 200), text, html, template: c.template };
}

const NOT_YOU = "If you did not ask for this, you can ignore this email.";

export function renderVerification(
  ctx: MailContext,
  v: { to: string; name: string; token: string; expiresInHours: number },
): MailMessage {
  return compose({
    template: "verification",
    to: v.to,
    subject: `Confirm your email address for ${PRODUCT}`,
    greetingName: v.name,
    paragraphs: [`Please confirm that ${v.to} is your email address.`],
    action: { label: "Confirm email address", url: appLink(ctx, "/verify-email", { token: v.token }) },
    notes: [`This link works once and expires in ${v.expiresInHours} hours.`, NOT_YOU],
  });
}

export function renderPasswordReset(
  ctx: MailContext,
  v: { to: string; name: string; token: string; expiresInMinutes: number },
): MailMessage {
  return compose({
    template: "password_reset",
    to: v.to,
    subject: `Reset your ${PRODUCT} password`,
    greetingName: v.name,
    paragraphs: ["Someone asked to reset the password of your account. Choose a new password here:"],
    action: { label: "Reset password", url: appLink(ctx, "/reset-password", { token: v.token }) },
    notes: [
      `This link works once and expires in ${v.expiresInMinutes} minutes. Asking again makes older links stop working.`,
      `${NOT_YOU} Your password stays as it is.`,
    ],
  });
}

function securityNotes(ctx: MailContext): string[] {
  return [
    `If this was not you, reset your password now at ${appLink(ctx, "/forgot-password")} and tell your administrator.`,
  ];
}

export function renderPasswordResetConfirmation(
  ctx: MailContext,
  v: { to: string; name: string; at: Date },
): MailMessage {
  return compose({
    template: "password_reset_confirmation",
    to: v.to,
    subject: `Your ${PRODUCT} password was reset`,
    greetingName: v.name,
    paragraphs: [
      `The password of your account was reset on ${v.at.toISOString()}.`,
      "Every device that was signed in has been signed out.",
    ],
    notes: securityNotes(ctx),
  });
}

export function renderPasswordChanged(
  ctx: MailContext,
  v: { to: string; name: string; at: Date },
): MailMessage {
  return compose({
    template: "password_changed",
    to: v.to,
    subject: `Your ${PRODUCT} password was changed`,
    greetingName: v.name,
    paragraphs: [
      `The password of your account was changed on ${v.at.toISOString()}.`,
      "Your other devices have been signed out.",
    ],
    notes: securityNotes(ctx),
  });
}

/** Sent to the NEW address of an email change: the link moves the account to it. */
export function renderEmailChangeVerification(
  ctx: MailContext,
  v: { to: string; name: string; token: string; expiresInHours: number },
): MailMessage {
  return compose({
    template: "email_change_verification",
    to: v.to,
    subject: `Confirm your new email address for ${PRODUCT}`,
    greetingName: v.name,
    paragraphs: [
      `You asked to use ${v.to} as the email address of your ${PRODUCT} account. Confirm it to finish the change:`,
    ],
    action: { label: "Confirm new email address", url: appLink(ctx, "/verify-email", { token: v.token }) },
    notes: [
      `This link works once and expires in ${v.expiresInHours} hours. Until then, your account keeps its current address.`,
      `${NOT_YOU} Nothing changes unless the link is used.`,
    ],
  });
}

/** Sent to the CURRENT address when an email change is asked for (whether or not it can go ahead). */
export function renderEmailChangeRequested(
  ctx: MailContext,
  v: { to: string; name: string; newEmail: string; at: Date },
): MailMessage {
  return compose({
    template: "email_change_requested",
    to: v.to,
    subject: `Your ${PRODUCT} email address is being changed`,
    greetingName: v.name,
    paragraphs: [
      `On ${v.at.toISOString()} someone signed in to your account asked to change its email address to ${oneLine(v.newEmail, 254)}.`,
      "The change happens only when the link sent to the new address is used; until then this address stays on the account.",
    ],
    notes: securityNotes(ctx),
  });
}

/** Sent to the OLD address once an email change has been confirmed. */
export function renderEmailChanged(
  ctx: MailContext,
  v: { to: string; name: string; newEmail: string; at: Date },
): MailMessage {
  return compose({
    template: "email_changed",
    to: v.to,
    subject: `Your ${PRODUCT} email address was changed`,
    greetingName: v.name,
    paragraphs: [
      `The email address of your account was changed to ${oneLine(v.newEmail, 254)} on ${v.at.toISOString()}.`,
      "Sign-in and account emails now use the new address; this one no longer receives them.",
    ],
    notes: [
      `If this was not you, someone else controls your account: tell your administrator right away. Password reset links (${appLink(ctx, "/forgot-password")}) now go to the new address.`,
    ],
  });
}

/** Sent instead of a second account when someone registers with an address that already has one. */
export function renderExistingAccountNotice(ctx: MailContext, v: { to: string; name: string }): MailMessage {
  return compose({
    template: "existing_account",
    to: v.to,
    subject: `Sign-up attempt with your ${PRODUCT} email address`,
    greetingName: v.name,
    paragraphs: [
      `Someone tried to create a new ${PRODUCT} account with ${v.to}, but you already have an account with this address, so no new account was created.`,
      "If it was you, sign in instead. If you forgot your password, you can reset it:",
    ],
    action: { label: "Reset password", url: appLink(ctx, "/forgot-password") },
    notes: ["If it was not you, you can ignore this email: nothing changed on your account."],
  });
}

export function renderInvitation(
  ctx: MailContext,
  v: {
    to: string;
    orgName: string;
    inviterName: string | null;
    role: string;
    token: string;
    expiresAt: Date;
  },
): MailMessage {
  const org = oneLine(v.orgName, 80);
  const inviter = v.inviterName ? oneLine(v.inviterName, 80) : null;
  return compose({
    template: "invitation",
    to: v.to,
    subject: inviter
      ? `${inviter} invited you to ${org} on ${PRODUCT}`
      : `You are invited to ${org} on ${PRODUCT}`,
    greetingName: "",
    paragraphs: [
      `${inviter ?? "An administrator"} invited you to join ${org} on ${PRODUCT} as ${oneLine(v.role, 20)}.`,
    ],
    action: { label: "Accept invitation", url: appLink(ctx, "/accept-invitation", { token: v.token }) },
    notes: [
      `The invitation expires on ${v.expiresAt.toISOString()} and works once.`,
      "If you did not expect it, you can ignore this email.",
    ],
  });
}

/** Account lockout (SPEC 2.5): too many wrong passwords from any address. */
export function renderAccountLocked(
  ctx: MailContext,
  v: { to: string; name: string; failures: number; until: Date },
): MailMessage {
  return compose({
    template: "account_locked",
    to: v.to,
    subject: `Your ${PRODUCT} account is temporarily locked`,
    greetingName: v.name,
    paragraphs: [
      `After ${v.failures} failed sign-in attempts, sign-in to your account is blocked until ${v.until.toISOString()}.`,
      "If these attempts were not you, someone may be guessing your password: once the lock ends, consider changing it and turning on two-factor authentication.",
    ],
    action: { label: "Reset your password", url: appLink(ctx, "/reset-password") },
    notes: securityNotes(ctx),
  });
}

/** Two-factor lock (SPEC 2.4): too many wrong codes after a correct password. */
export function renderTwoFactorLocked(
  ctx: MailContext,
  v: { to: string; name: string; failures: number; until: Date },
): MailMessage {
  return compose({
    template: "two_factor_locked",
    to: v.to,
    subject: `Two-factor sign-in to ${PRODUCT} is temporarily locked`,
    greetingName: v.name,
    paragraphs: [
      `Someone entered your password correctly and then ${v.failures} wrong authentication codes. Two-factor sign-in is blocked until ${v.until.toISOString()}.`,
      "If this was not you, your password is known to someone else: change it now.",
    ],
    action: { label: "Change your password", url: appLink(ctx, "/reset-password") },
    notes: securityNotes(ctx),
  });
}

/** Two-factor authentication turned on or off, or backup codes regenerated. */
export function renderTwoFactorChanged(
  ctx: MailContext,
  v: { to: string; name: string; change: "enabled" | "disabled" | "backup_codes_regenerated"; at: Date },
): MailMessage {
  const what = {
    enabled: "Two-factor authentication was turned on",
    disabled: "Two-factor authentication was turned off",
    backup_codes_regenerated: "New backup codes were generated (the old ones no longer work)",
  }[v.change];
  return compose({
    template: `two_factor_${v.change}`,
    to: v.to,
    subject: `${what.split(" (")[0]} on your ${PRODUCT} account`,
    greetingName: v.name,
    paragraphs: [`${what} on ${v.at.toISOString()}.`],
    notes: securityNotes(ctx),
  });
}

/** The idle alert (SPEC 3 "Idle detection"), sent when the organization turned idle-alert emails on. */
export function renderIdleAlert(
  ctx: MailContext,
  v: { to: string; name: string; idleMinutes: number; since: string; entry: string; idlePeriodId: string },
): MailMessage {
  return compose({
    template: "idle_alert",
    to: v.to,
    subject: `Your ${PRODUCT} timer is running while you are away`,
    greetingName: v.name,
    paragraphs: [
      `Your timer "${oneLine(v.entry, 120)}" is still running, but your computer has shown no activity for ${v.idleMinutes} minutes (since ${v.since}).`,
      "Choose whether to keep that time, discard it, or split it off into an entry of its own:",
    ],
    action: {
      label: "Review idle time",
      url: appLink(ctx, `/idle-periods/${encodeURIComponent(v.idlePeriodId)}`),
    },
    notes: ["Idle-time emails are turned on by your organization's administrators."],
  });
}
