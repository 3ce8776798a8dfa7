import { randomToken, sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import {
  renderEmailChanged,
  renderEmailChangeRequested,
  renderEmailChangeVerification,
} from "../mail/templates";
import * as repo from "./account.repo";
import {
  type AccountDeps,
  auditUser,
  invalidToken,
  type RequestMeta,
  throttleAttempts,
  VERIFY_TTL_MS,
} from "./account.service";

/**
 * Email-change links carry this prefix. It is part of the hashed secret, so it cannot be added to or
 * removed from a plain verification token: it tells the two kinds apart without a schema change.
 */
export const EMAIL_CHANGE_TOKEN_PREFIX = "tte_";

export const isEmailChangeToken = (token: string) => token.startsWith(EMAIL_CHANGE_TOKEN_PREFIX);

/**
 * Email change by a signed-in user (spec 2.2): the password again, then the new address must be
 * verified before anything changes. Callers answer 202 whatever happens after the password check:
 * when the new address already has an account, no link is sent and its owner is not mailed (no
 * enumeration); the current address gets the "being changed" notice either way. Mail and token work
 * runs after the response, so the timing does not tell the two cases apart either.
 */
export async function requestEmailChange(
  deps: AccountDeps,
  input: { userId: string; password: string; newEmail: string },
  meta: RequestMeta,
): Promise<void> {
  const user = await repo.findUserById(deps.db, input.userId);
  if (!user) throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
  await throttleAttempts(deps, `email-change:${user.id}`);
  const check = await deps.passwords.verify(user.passwordHash, input.password);
  if (!check.ok) {
    await auditUser(deps, user.id, {
      ...meta,
      actorType: "user",
      actorId: user.id,
      action: "auth.email_change_failed",
      metadata: { reason: "wrong_current_password" },
    });
    throw new AppError(403, "INVALID_CURRENT_PASSWORD", "The current password is not correct");
  }
  const newEmail = input.newEmail.trim().toLowerCase();
  if (newEmail === user.email)
    throw new AppError(422, "VALIDATION_FAILED", "The new email address is the current one", {
      errors: [{ path: "newEmail", code: "same_email", message: "Must differ from the current address" }],
    });
  await auditUser(deps, user.id, {
    ...meta,
    actorType: "user",
    actorId: user.id,
    action: "auth.email_change_requested",
    metadata: { newEmail },
  });
  deps.defer(sendEmailChangeMails(deps, user, newEmail));
}

async function sendEmailChangeMails(deps: AccountDeps, user: repo.AccountUser, newEmail: string) {
  const now = deps.clock.now();
  const changeToken = `${EMAIL_CHANGE_TOKEN_PREFIX}${randomToken(32)}`;
  const changeHash = await sha256Hex(changeToken);
  if (!(await repo.findUserByEmail(deps.db, newEmail))) {
    await repo.insertEmailChangeToken(deps.db, {
      userId: user.id,
      currentEmail: user.email,
      newEmail,
      tokenHash: changeHash,
      now,
      ttlMs: VERIFY_TTL_MS,
    });
    await deps.mailer.send(
      renderEmailChangeVerification(deps.config, {
        to: newEmail,
        name: user.name,
        token: changeToken,
        expiresInHours: VERIFY_TTL_MS / 3_600_000,
      }),
    );
  }
  await deps.mailer.send(
    renderEmailChangeRequested(deps.config, { to: user.email, name: user.name, newEmail, at: now }),
  );
}

/**
 * The link from an email-change mail: moves the account to the new address (verified) atomically
 * with using the token up, provided the address is still free; then audits and tells the old address.
 */
export async function confirmEmailChange(
  deps: Pick<AccountDeps, "db" | "clock" | "audit" | "mailer" | "config" | "defer" | "principals">,
  token: string,
  meta: RequestMeta,
): Promise<void> {
  const now = deps.clock.now();
  const hash = await sha256Hex(token);
  const change = await repo.findEmailChange(deps.db, hash, now);
  if (!change) throw invalidToken();
  if (await repo.findUserByEmail(deps.db, change.newEmail)) throw invalidToken();
  if (!(await repo.consumeEmailChangeToken(deps.db, hash, change, now))) throw invalidToken();
  await deps.principals.invalidateUser(change.userId);
  await repo.retireTokens(deps.db, change.userId, "email_verify", now, hash);
  await auditUser(deps, change.userId, {
    ...meta,
    actorType: "user",
    actorId: change.userId,
    action: "auth.email_changed",
    metadata: { oldEmail: change.oldEmail, newEmail: change.newEmail },
  });
  deps.defer(
    deps.mailer.send(
      renderEmailChanged(deps.config, {
        to: change.oldEmail,
        name: change.name,
        newEmail: change.newEmail,
        at: now,
      }),
    ),
  );
}
