import type { Config } from "../../config/env";
import type { Db } from "../../db/client";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import { assertPasswordAcceptable } from "../../lib/password-policy";
import type { Clock } from "../../ports/clock";
import type { RateLimiter, RateLimitRule } from "../../ports/kv";
import type { Mailer } from "../../ports/mail";
import type { PasswordHasher } from "../../ports/passwords";
import type { AuditEntry, AuditService } from "../audit/audit.service";
import type { PrincipalInvalidation } from "../auth/principal-cache";
import type { SessionService } from "../auth/session.service";
import {
  renderExistingAccountNotice,
  renderPasswordChanged,
  renderPasswordReset,
  renderPasswordResetConfirmation,
  renderVerification,
} from "../mail/templates";
import * as repo from "./account.repo";

export const VERIFY_TTL_MS = 48 * 3_600_000;
export const RESET_TTL_MS = 3_600_000;

/** Spec 2.3: verification resend, 1 per 60 s and 5 per hour per user. */
export const RESEND_RULES: (RateLimitRule & { name: string })[] = [
  { name: "verify-resend-minute", window: 60_000, max: 1 },
  { name: "verify-resend-hour", window: 3_600_000, max: 5 },
];
/** Reset mails per address per hour; over it, forgot still answers 202 but sends nothing. */
const RESET_MAILS_PER_HOUR = 5;
/** Wrong current passwords on /password/change per user per 15 min (stolen-token guessing). */
const CHANGE_ATTEMPTS: RateLimitRule = { window: 15 * 60_000, max: 10 };

export interface MailDeps {
  db: Db;
  clock: Clock;
  mailer: Mailer;
  config: Pick<Config, "publicUrl">;
}

export interface AccountDeps extends MailDeps {
  passwords: PasswordHasher;
  rateLimiter: RateLimiter;
  sessions: SessionService;
  audit: AuditService;
  /** The cached principal carries the user's email and verification; changes invalidate it. */
  principals: PrincipalInvalidation;
  /** Runs work after the response (mail sends never hold up a request). */
  defer: (work: Promise<unknown>) => void;
}

/** Who made the request, for audit rows. */
export type RequestMeta = Pick<AuditEntry, "ip" | "userAgent" | "requestId">;

export const invalidToken = () =>
  new AppError(400, "INVALID_TOKEN", "The link is invalid or has expired. Ask for a new one.");

/** A fresh 32-byte token and the SHA-256 we store; the token itself only goes into the email. */
async function newToken(): Promise<{ token: string; hash: string }> {
  const token = randomToken(32);
  return { token, hash: await sha256Hex(token) };
}

/** Auth events are written to the audit chain of every organization the user belongs to. */
export async function auditUser(
  deps: Pick<AccountDeps, "db" | "audit">,
  userId: string,
  entry: Omit<AuditEntry, "orgId" | "targetType" | "targetId">,
): Promise<void> {
  const orgIds = await repo.orgIdsOf(deps.db, userId);
  for (const orgId of orgIds.length ? orgIds : [null])
    await deps.audit.record({ ...entry, orgId, targetType: "user", targetId: userId });
}

/** Issues an email-verification token (48 h, one-time) and mails the link. Older links stay valid. */
export async function sendVerificationEmail(
  deps: MailDeps,
  user: { id: string; email: string; name: string },
): Promise<void> {
  const now = deps.clock.now();
  const { token, hash } = await newToken();
  await repo.insertToken(
    deps.db,
    {
      userId: user.id,
      email: user.email,
      purpose: "email_verify",
      tokenHash: hash,
      now,
      ttlMs: VERIFY_TTL_MS,
    },
    { supersede: false },
  );
  await deps.mailer.send(
    renderVerification(deps.config, {
      to: user.email,
      name: user.name,
      token,
      expiresInHours: VERIFY_TTL_MS / 3_600_000,
    }),
  );
}

/**
 * Registering with an address that already has an account mails its owner instead (no enumeration).
 * The greeting uses the owner's stored name, never the one typed into the sign-up form: that text
 * comes from whoever tried to register and must not reach the owner's inbox in our name.
 */
export async function sendExistingAccountNotice(
  deps: MailDeps,
  user: { email: string; name: string },
): Promise<void> {
  const owner = await repo.findUserByEmail(deps.db, user.email);
  if (!owner) return;
  await deps.mailer.send(renderExistingAccountNotice(deps.config, { to: owner.email, name: owner.name }));
}

export async function verifyEmail(
  deps: Pick<AccountDeps, "db" | "clock" | "audit" | "principals">,
  token: string,
  meta: RequestMeta,
): Promise<void> {
  const now = deps.clock.now();
  const hash = await sha256Hex(token);
  const userId = await repo.consumeVerifyToken(deps.db, hash, now);
  if (!userId) throw invalidToken();
  await deps.principals.invalidateUser(userId);
  await repo.retireTokens(deps.db, userId, "email_verify", now, hash);
  await auditUser(deps, userId, { ...meta, actorType: "user", actorId: userId, action: "email.verified" });
}

/** 429 with Retry-After when either resend rule is exhausted; the hourly bucket counts only real sends. */
async function throttleResend(deps: Pick<AccountDeps, "rateLimiter" | "clock">, userId: string) {
  for (const rule of RESEND_RULES) {
    const r = await deps.rateLimiter.consume(`${rule.name}:${userId}`, rule);
    if (r.allowed) continue;
    const seconds = Math.max(1, Math.ceil((r.resetAt.getTime() - deps.clock.now().getTime()) / 1000));
    throw new AppError(429, "RATE_LIMITED", `Too many verification emails; retry in ${seconds} s`, {
      headers: {
        "Retry-After": String(seconds),
        "RateLimit-Policy": `"${rule.name}";q=${rule.max};w=${rule.window / 1000}`,
        RateLimit: `"${rule.name}";r=0;t=${seconds}`,
      },
    });
  }
}

export async function resendVerification(deps: AccountDeps, userId: string): Promise<void> {
  const user = await repo.findUserById(deps.db, userId);
  if (!user) throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
  if (user.emailVerifiedAt)
    throw new AppError(409, "ALREADY_VERIFIED", "This email address is already verified");
  await throttleResend(deps, userId);
  deps.defer(sendVerificationEmail(deps, user));
}

/**
 * Forgot-password. Callers answer 202 before this runs (it is deferred), so the response never
 * depends on whether the address has an account; the token work is done for unknown addresses too.
 */
export async function requestPasswordReset(
  deps: AccountDeps,
  email: string,
  meta: RequestMeta,
): Promise<void> {
  const now = deps.clock.now();
  const { token, hash } = await newToken();
  const user = await repo.findUserByEmail(deps.db, email);
  if (!user) return;
  const quota = await deps.rateLimiter.consume(`reset-mail:${user.id}`, {
    window: 3_600_000,
    max: RESET_MAILS_PER_HOUR,
  });
  if (!quota.allowed) return; // silently: a victim's inbox is not a target
  await repo.insertToken(
    deps.db,
    {
      userId: user.id,
      email: user.email,
      purpose: "password_reset",
      tokenHash: hash,
      now,
      ttlMs: RESET_TTL_MS,
    },
    { supersede: true },
  );
  await auditUser(deps, user.id, {
    ...meta,
    actorType: "anonymous",
    actorId: null,
    action: "auth.password_reset_requested",
  });
  await deps.mailer.send(
    renderPasswordReset(deps.config, {
      to: user.email,
      name: user.name,
      token,
      expiresInMinutes: RESET_TTL_MS / 60_000,
    }),
  );
}

/**
 * Sets a new password from a reset token, revokes every session (and so every refresh token) and
 * mails a confirmation. The token is claimed atomically with the password write (see the repo), so
 * concurrent uses of one token succeed exactly once.
 *
 * 2FA seam (spec 2.3/2.4): reset only sets the password and signs nobody in, so it cannot bypass a
 * second factor today. If reset ever starts a session, it must go through the TOTP challenge when
 * the user has 2FA on.
 */
export async function resetPassword(
  deps: AccountDeps,
  input: { token: string; password: string },
  meta: RequestMeta,
): Promise<void> {
  const hash = await sha256Hex(input.token);
  const user = await repo.findTokenUser(deps.db, hash, "password_reset", deps.clock.now());
  if (!user) throw invalidToken();
  await assertPasswordAcceptable(input.password, { email: user.email, name: user.name }, "password");
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.clock.now();
  if (!(await repo.consumeResetToken(deps.db, hash, user.id, passwordHash, now))) throw invalidToken();
  await repo.retireTokens(deps.db, user.id, "password_reset", now, hash);
  const revoked = await deps.sessions.revokeAllFor(user.id, "password_reset");
  await auditUser(deps, user.id, {
    ...meta,
    actorType: "user",
    actorId: user.id,
    action: "auth.password_reset",
    metadata: { sessionsRevoked: revoked },
  });
  deps.defer(
    deps.mailer.send(
      renderPasswordResetConfirmation(deps.config, { to: user.email, name: user.name, at: now }),
    ),
  );
}

/** 429 with Retry-After once a user's current-password attempts are used up (password or email change). */
export async function throttleAttempts(deps: Pick<AccountDeps, "rateLimiter" | "clock">, key: string) {
  const attempts = await deps.rateLimiter.consume(key, CHANGE_ATTEMPTS);
  if (attempts.allowed) return;
  const seconds = Math.max(1, Math.ceil((attempts.resetAt.getTime() - deps.clock.now().getTime()) / 1000));
  throw new AppError(429, "RATE_LIMITED", `Too many attempts; retry in ${seconds} s`, {
    headers: { "Retry-After": String(seconds) },
  });
}

/** Password change by a signed-in user: current password required; other sessions are revoked. */
export async function changePassword(
  deps: AccountDeps,
  input: { userId: string; sessionId: string; currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<{ otherSessionsRevoked: number }> {
  const user = await repo.findUserById(deps.db, input.userId);
  if (!user) throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
  await throttleAttempts(deps, `password-change:${user.id}`);
  const check = await deps.passwords.verify(user.passwordHash, input.currentPassword);
  if (!check.ok) {
    await auditUser(deps, user.id, {
      ...meta,
      actorType: "user",
      actorId: user.id,
      action: "auth.password_change_failed",
      metadata: { reason: "wrong_current_password" },
    });
    throw new AppError(403, "INVALID_CURRENT_PASSWORD", "The current password is not correct");
  }
  await assertPasswordAcceptable(input.newPassword, { email: user.email, name: user.name }, "newPassword");
  const now = deps.clock.now();
  await repo.setPassword(deps.db, user.id, await deps.passwords.hash(input.newPassword), now);
  const revoked = await deps.sessions.revokeAllFor(user.id, "password_changed", input.sessionId);
  await auditUser(deps, user.id, {
    ...meta,
    actorType: "user",
    actorId: user.id,
    action: "auth.password_changed",
    metadata: { otherSessionsRevoked: revoked },
  });
  deps.defer(
    deps.mailer.send(renderPasswordChanged(deps.config, { to: user.email, name: user.name, at: now })),
  );
  return { otherSessionsRevoked: revoked };
}
