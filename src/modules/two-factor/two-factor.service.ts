/**
 * TOTP two-factor authentication (SPEC 2.4): enrolment, backup codes, the second login step,
 * disabling. Replay is refused by remembering the last accepted time step per user (RFC 6238
 * §5.2); every "use once" rule is a conditional UPDATE, so concurrent requests cannot both win.
 */
import { randomBytes, sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { KvStore } from "../../ports/kv";
import { auditUser, throttleAttempts } from "../account/account.service";
import { findUserForLogin } from "../auth/auth.accounts.repo";
import type { AuthDeps, LoginResult, RequestMeta } from "../auth/auth.service";
import { startSession } from "../auth/auth.service";
import { tolerant } from "../auth/lockout";
import { renderTwoFactorChanged, renderTwoFactorLocked } from "../mail/templates";
import { matchTotp, newTotpSecret, otpauthUri, qrCodeDataUrl } from "./totp";
import { CHALLENGE_MAX_ATTEMPTS } from "./two-factor.challenge";
import * as repo from "./two-factor.repo";

export const BACKUP_CODE_COUNT = 10;
export const BACKUP_CODE_LENGTH = 8;
/** No 0/O, 1/I/L: codes are read off paper and typed by hand. */
export const BACKUP_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/** Wrong codes per account (all challenges) before 2FA locks, and for how long. */
export const LOCK_AFTER_FAILURES = 10;
export const LOCK_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 15 * 60_000;

export type TwoFactorDeps = AuthDeps;

/** Binds a ciphertext to its row: a secret copied to another user's row does not decrypt. */
const secretAad = (userId: string) => `two_factor.secret:${userId}`;
const failsKey = (userId: string) => `2fa:fails:${userId}`;
const lockKey = (userId: string) => `2fa:lock:${userId}`;

const invalidCode = (status: 401 | 403 | 422, detail = "The code is not valid") =>
  new AppError(status, "INVALID_CODE", detail, {
    errors: [{ path: "code", code: "invalid_code", message: "is wrong, expired or already used" }],
  });
const notEnabled = () => new AppError(409, "TWO_FACTOR_NOT_ENABLED", "Two-factor authentication is off");
const alreadyEnabled = () =>
  new AppError(
    409,
    "TWO_FACTOR_ALREADY_ENABLED",
    "Two-factor authentication is already on; disable it first",
  );
const invalidChallenge = () =>
  new AppError(
    401,
    "INVALID_CHALLENGE",
    "The sign-in challenge is invalid, expired, used up or already completed. Sign in again.",
  );

/** The signed-in user (a `users` row): the password hash is checked without reading it again. */
interface UserRef {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
}

/** Uniform over the alphabet (rejection sampling: no modulo bias). */
function backupCode(): string {
  const limit = 256 - (256 % BACKUP_CODE_ALPHABET.length);
  let out = "";
  while (out.length < BACKUP_CODE_LENGTH)
    for (const b of randomBytes(16))
      if (b < limit && out.length < BACKUP_CODE_LENGTH)
        out += BACKUP_CODE_ALPHABET[b % BACKUP_CODE_ALPHABET.length];
  return out;
}

/** Backup codes are accepted in any case, with spaces or dashes. */
export function normaliseBackupCode(code: string): string | null {
  const c = code.replace(/[\s-]/g, "").toUpperCase();
  if (c.length !== BACKUP_CODE_LENGTH) return null;
  for (const ch of c) if (!BACKUP_CODE_ALPHABET.includes(ch)) return null;
  return c;
}

/**
 * 40 bits per code, hashed with the user id as salt. A fast hash is enough here: a stolen hash
 * only helps together with the password, and each code works once.
 */
const hashBackupCode = (userId: string, code: string) => sha256Hex(`${userId}:${code}`);

async function newBackupCodes(userId: string, now: Date) {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, backupCode);
  const rows = await Promise.all(
    codes.map(async (code) => ({
      id: newId("backupCode", now),
      codeHash: await hashBackupCode(userId, code),
    })),
  );
  return { codes, rows };
}

function notify(
  deps: TwoFactorDeps,
  user: UserRef,
  change: "enabled" | "disabled" | "backup_codes_regenerated",
) {
  deps.defer(
    deps.mailer.send(
      renderTwoFactorChanged(deps.config, { to: user.email, name: user.name, change, at: deps.clock.now() }),
    ),
  );
}

function record(deps: TwoFactorDeps, user: UserRef, meta: RequestMeta, action: string, metadata = {}) {
  return auditUser(deps, user.id, { ...meta, actorType: "user", actorId: user.id, action, metadata });
}

export async function status(deps: TwoFactorDeps, userId: string) {
  const row = await repo.findTwoFactor(deps.db, userId);
  return {
    enabled: row?.enabledAt != null,
    enabledAt: row?.enabledAt?.toISOString() ?? null,
    pending: row !== null && row.enabledAt === null,
    backupCodesRemaining: row?.enabledAt ? await repo.unusedBackupCodes(deps.db, userId) : 0,
  };
}

/** `POST /2fa/setup`: a new secret (160 bits), its otpauth URI and QR code. 2FA stays off. */
export async function setup(deps: TwoFactorDeps, user: UserRef, meta: RequestMeta) {
  const secret = newTotpSecret();
  const ciphertext = await deps.secrets.encrypt(secret, secretAad(user.id));
  if (!(await repo.upsertPending(deps.db, user.id, ciphertext, deps.clock.now()))) throw alreadyEnabled();
  await record(deps, user, meta, "auth.2fa_setup_started");
  const otpauthUrl = otpauthUri(secret, user.email);
  return { secret, otpauthUrl, qrCode: qrCodeDataUrl(otpauthUrl) };
}

/** `POST /2fa/enable`: the first valid code turns 2FA on and returns the backup codes, once. */
export async function enable(deps: TwoFactorDeps, user: UserRef, code: string, meta: RequestMeta) {
  await throttleAttempts(deps, `2fa-enable:${user.id}`);
  const row = await repo.findTwoFactor(deps.db, user.id);
  if (!row) throw new AppError(409, "TWO_FACTOR_NOT_SET_UP", "Call /auth/2fa/setup first");
  if (row.enabledAt) throw alreadyEnabled();
  const now = deps.clock.now();
  const secret = await deps.secrets.decrypt(row.secretCiphertext, secretAad(user.id));
  const step = await matchTotp(secret, code, now, row.lastUsedStep);
  // The enrolment code's step is remembered: it cannot be replayed for the first login.
  if (step === null || !(await repo.claimStep(deps.db, user.id, step, now))) throw invalidCode(422);
  const { codes, rows } = await newBackupCodes(user.id, now);
  await repo.enable(deps.db, user.id, rows, now);
  await record(deps, user, meta, "auth.2fa_enabled");
  notify(deps, user, "enabled");
  return { backupCodes: codes };
}

/** A TOTP code (replay-checked) or an unused backup code; which one, or null. Pass `known` when the row was just read. */
async function checkSecondFactor(
  deps: TwoFactorDeps,
  userId: string,
  code: string,
  known?: repo.TwoFactorRow,
): Promise<"totp" | "backup_code" | null> {
  const now = deps.clock.now();
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed)) {
    const row = known ?? (await repo.findTwoFactor(deps.db, userId));
    if (!row?.enabledAt) return null;
    const secret = await deps.secrets.decrypt(row.secretCiphertext, secretAad(userId));
    const step = await matchTotp(secret, trimmed, now, row.lastUsedStep);
    return step !== null && (await repo.claimStep(deps.db, userId, step, now)) ? "totp" : null;
  }
  const backup = normaliseBackupCode(trimmed);
  if (!backup) return null;
  return (await repo.claimBackupCode(deps.db, userId, await hashBackupCode(userId, backup), now))
    ? "backup_code"
    : null;
}

async function lockRemaining(kv: KvStore, userId: string): Promise<number> {
  // Redis down: no lock is seen (fails open); the 5-attempt limit per challenge still holds.
  const ttl = await tolerant(() => kv.ttl(lockKey(userId)), null);
  return ttl === null ? 0 : Math.max(1, Math.ceil(ttl / 1000));
}

/** `POST /2fa/verify`: completes a login that was answered with `mfaRequired`. */
export async function verifyChallenge(
  deps: TwoFactorDeps,
  input: { challengeToken: string; code: string },
  meta: RequestMeta,
): Promise<LoginResult> {
  const now = deps.clock.now();
  const found = await repo.findOpenChallenge(
    deps.db,
    await sha256Hex(input.challengeToken),
    now,
    CHALLENGE_MAX_ATTEMPTS,
  );
  if (!found) throw invalidChallenge();
  const { challenge, user } = found;
  const locked = await lockRemaining(deps.kv, user.id);
  if (locked > 0)
    throw new AppError(429, "TWO_FACTOR_LOCKED", `Too many wrong codes; try again in ${locked} s`, {
      headers: { "Retry-After": String(locked) },
    });

  const method = await checkSecondFactor(deps, user.id, input.code);
  if (!method) {
    const attempts = await repo.countChallengeFailure(deps.db, challenge.id);
    const failures = await tolerant(() => deps.kv.increment(failsKey(user.id), LOCK_WINDOW_MS), 0);
    await record(deps, user, meta, "auth.2fa_failed", {
      challengeAttempts: attempts,
      recentFailures: failures,
    });
    if (failures >= LOCK_AFTER_FAILURES) {
      const until = new Date(now.getTime() + LOCK_MS);
      await tolerant(() => deps.kv.set(lockKey(user.id), "1", LOCK_MS), undefined);
      await tolerant(() => deps.kv.delete(failsKey(user.id)), false);
      await record(deps, user, meta, "auth.2fa_locked", { failures, until: until.toISOString() });
      deps.defer(
        deps.mailer.send(
          renderTwoFactorLocked(deps.config, { to: user.email, name: user.name, failures, until }),
        ),
      );
    }
    const left = Math.max(0, CHALLENGE_MAX_ATTEMPTS - attempts);
    throw invalidCode(
      401,
      left > 0 ? `The code is not valid (${left} attempts left)` : "The code is not valid; sign in again",
    );
  }
  if (!(await repo.consumeChallenge(deps.db, challenge.id, now, CHALLENGE_MAX_ATTEMPTS)))
    throw invalidChallenge();
  await tolerant(() => deps.kv.delete(failsKey(user.id)), false);
  const login = await findUserForLogin(deps.db, user.email);
  return startSession(deps, user, login?.orgId ?? null, meta, { mfa: method });
}

async function requirePassword(deps: TwoFactorDeps, user: UserRef, password: string, meta: RequestMeta) {
  if (!(await deps.passwords.verify(user.passwordHash, password)).ok) {
    await record(deps, user, meta, "auth.2fa_change_failed", { reason: "wrong_password" });
    throw new AppError(403, "INVALID_CURRENT_PASSWORD", "The password is not correct");
  }
}

/** `POST /2fa/disable`: password and a current code (or a backup code). */
export async function disable(
  deps: TwoFactorDeps,
  user: UserRef,
  input: { password: string; code: string },
  meta: RequestMeta,
): Promise<void> {
  await throttleAttempts(deps, `2fa-change:${user.id}`);
  const row = await repo.findTwoFactor(deps.db, user.id);
  if (!row?.enabledAt) throw notEnabled();
  await requirePassword(deps, user, input.password, meta);
  if (!(await checkSecondFactor(deps, user.id, input.code, row))) {
    await record(deps, user, meta, "auth.2fa_change_failed", { reason: "wrong_code" });
    throw invalidCode(403);
  }
  await repo.disable(deps.db, user.id);
  await record(deps, user, meta, "auth.2fa_disabled");
  notify(deps, user, "disabled");
}

/** `POST /2fa/backup-codes`: a new set (the old one stops working); needs the password. */
export async function regenerateBackupCodes(
  deps: TwoFactorDeps,
  user: UserRef,
  password: string,
  meta: RequestMeta,
): Promise<{ backupCodes: string[] }> {
  await throttleAttempts(deps, `2fa-change:${user.id}`);
  if (!(await repo.isEnabled(deps.db, user.id))) throw notEnabled();
  await requirePassword(deps, user, password, meta);
  const now = deps.clock.now();
  const { codes, rows } = await newBackupCodes(user.id, now);
  await repo.replaceBackupCodes(deps.db, user.id, rows, now);
  await record(deps, user, meta, "auth.2fa_backup_codes_regenerated");
  notify(deps, user, "backup_codes_regenerated");
  return { backupCodes: codes };
}
