import type { Config } from "../../config/env";
import type { Db } from "../../db/client";
import type { Role } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { assertPasswordAcceptable } from "../../lib/password-policy";
import type { SecretBox } from "../../lib/secret-box";
import type { Clock } from "../../ports/clock";
import type { KvStore, RateLimiter } from "../../ports/kv";
import type { Mailer } from "../../ports/mail";
import type { PasswordHasher } from "../../ports/passwords";
import { auditUser, sendExistingAccountNotice, sendVerificationEmail } from "../account/account.service";
import type { AuditActorType, AuditService } from "../audit/audit.service";
import { renderAccountLocked } from "../mail/templates";
import {
  acceptInvitationToken,
  auditInvitationAccepted,
  createOrganizationWithAdmin,
} from "../orgs/orgs.service";
import { type Challenge, createChallenge } from "../two-factor/two-factor.challenge";
import { isEnabled as twoFactorEnabled } from "../two-factor/two-factor.repo";
import * as repo from "./auth.accounts.repo";
import * as lockout from "./lockout";
import type { SessionService, TokenPair } from "./session.service";

export interface AuthDeps {
  db: Db;
  clock: Clock;
  config: Config;
  mailer: Mailer;
  passwords: PasswordHasher;
  sessions: SessionService;
  audit: AuditService;
  events: EventBus;
  /** Shared counters (lockout, 2FA failures): Redis when configured. */
  kv: KvStore;
  rateLimiter: RateLimiter;
  /** Encryption at rest for read-back secrets (TOTP). */
  secrets: SecretBox;
  /** Work after the response: mail never holds up (or times) a request. */
  defer: (work: Promise<unknown>) => void;
}

/** Where the request came from, for audit rows and the session's device info. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  createdAt: string;
}

export interface RegisterResult {
  user: PublicUser;
  organization: { id: string; name: string; role: Role };
}

export type LoginResult = TokenPair & { user: PublicUser };

export const invalidCredentials = () =>
  new AppError(401, "INVALID_CREDENTIALS", "The email or password is incorrect", {
    headers: { "WWW-Authenticate": 'Bearer realm="teamtrack"' },
  });

const invalidInvitation = () =>
  new AppError(
    422,
    "INVALID_INVITATION",
    "The invitation is invalid, expired, revoked, already used, or was sent to another address",
    {
      errors: [
        {
          path: "invitationToken",
          code: "invalid_invitation",
          message: "is not an open invitation for this email",
        },
      ],
    },
  );

export function presentUser(u: repo.UserRow): PublicUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    emailVerified: u.emailVerifiedAt !== null,
    createdAt: u.createdAt.toISOString(),
  };
}

export function audit(
  deps: AuthDeps,
  meta: RequestMeta,
  entry: {
    orgId: string | null;
    actorType: AuditActorType;
    actorId: string | null;
    action: string;
    targetType?: string;
    targetId?: string;
    metadata?: Record<string, unknown>;
  },
): Promise<void> {
  return deps.audit.record({ ...meta, ...entry });
}

/**
 * A hash of a random password with the current parameters, made once per hasher. Logins for an
 * unknown email verify against it so they cost the same argon2id work as a wrong password.
 */
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();
function dummyHash(passwords: PasswordHasher): Promise<string> {
  let h = dummyHashes.get(passwords);
  if (!h) {
    h = passwords.hash(crypto.randomUUID());
    h.catch(() => dummyHashes.delete(passwords));
    dummyHashes.set(passwords, h);
  }
  return h;
}

/** Computes the dummy hash ahead of the first unknown-email login (call when the server starts). */
export async function warmDummyHash(passwords: PasswordHasher): Promise<void> {
  await dummyHash(passwords);
}

/**
 * `POST /auth/register`. The answer never reveals whether the email had an account: an existing
 * address gets the same 201 body shape (with a fresh, unused id) after the same argon2id work, and
 * its owner is emailed instead. Password and invitation checks come first and depend only on
 * what the caller sent, so their 422s reveal nothing either.
 */
export async function register(
  deps: AuthDeps,
  input: {
    email: string;
    password: string;
    name: string;
    organizationName?: string;
    invitationToken?: string;
  },
  meta: RequestMeta,
): Promise<RegisterResult> {
  const { db, clock, passwords } = deps;
  await assertPasswordAcceptable(input.password, { email: input.email, name: input.name });
  const now = clock.now();
  const invitation = input.invitationToken
    ? await repo.findOpenInvitation(db, await sha256Hex(input.invitationToken), input.email, now)
    : null;
  if (input.invitationToken && !invitation) throw invalidInvitation();
  const orgName = input.organizationName ?? `${input.name}'s organization`;

  const passwordHash = await passwords.hash(input.password);
  const userId = newId("user", now);
  const owner = await repo.findUserByEmail(db, input.email);
  const created =
    !owner &&
    (await repo.insertUser(db, { id: userId, email: input.email, name: input.name, passwordHash, now }));
  const response = (orgId: string, name: string, role: Role): RegisterResult => ({
    user: {
      id: userId,
      email: input.email,
      name: input.name,
      emailVerified: false,
      createdAt: now.toISOString(),
    },
    organization: { id: orgId, name, role },
  });

  if (!created) {
    // Existing account: nothing is created; the owner learns someone tried to register. The
    // notice greets them by their own name, never by the (attacker-chosen) name in this request.
    const ownerName = owner?.name ?? (await repo.findUserByEmail(db, input.email))?.name ?? "";
    deps.defer(sendExistingAccountNotice(deps, { email: input.email, name: ownerName }));
    await audit(deps, meta, {
      orgId: null,
      actorType: "anonymous",
      actorId: null,
      action: "auth.register_existing_email",
      metadata: { email: input.email },
    });
    return invitation
      ? response(invitation.orgId, invitation.orgName, invitation.role)
      : response(newId("org", now), orgName, "admin");
  }

  let result: RegisterResult;
  let accepted: Awaited<ReturnType<typeof acceptInvitationToken>> = null;
  try {
    if (input.invitationToken) {
      accepted = await acceptInvitationToken(db, clock, {
        token: input.invitationToken,
        userId,
        email: input.email,
      });
      // Lost a race with another accept/revoke since the check above: undo the user.
      if (!accepted) throw invalidInvitation();
      const org = await repo.findOrganization(db, accepted.orgId);
      result = response(accepted.orgId, org?.name ?? invitation?.orgName ?? "", accepted.role);
    } else {
      const { orgId } = await createOrganizationWithAdmin(db, clock, { name: orgName, userId });
      result = response(orgId, orgName, "admin");
    }
  } catch (err) {
    await repo.deleteUser(db, userId);
    throw err;
  }

  if (accepted) {
    await auditInvitationAccepted(deps.audit, { ...meta, actorType: "user", actorId: userId }, accepted);
    await deps.events.emit(
      deps.events.create(
        "member.added",
        { membershipId: accepted.membershipId, userId, role: accepted.role },
        { orgId: accepted.orgId, actor: userId },
      ),
    );
  }
  deps.defer(sendVerificationEmail(deps, { id: userId, email: input.email, name: input.name }));
  await audit(deps, meta, {
    orgId: result.organization.id,
    actorType: "user",
    actorId: userId,
    action: "auth.registered",
    targetType: "user",
    targetId: userId,
    metadata: { via: input.invitationToken ? "invitation" : "signup", role: result.organization.role },
  });
  return result;
}

/**
 * `POST /auth/login`. Unknown email, wrong password and a locked account are the same 401 after the
 * same argon2id work (a dummy hash for the unknown email) and the same number of queries. With 2FA
 * on, a correct password yields a challenge instead of a session.
 */
export async function login(
  deps: AuthDeps,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<LoginResult | Challenge> {
  const { db, clock, passwords, kv, config } = deps;
  const row = await repo.findUserForLogin(db, input.email);
  // Read a lock key for unknown emails too, so the two paths make the same calls.
  const lockedUntil = await lockout.lockedUntil(kv, row?.user.id ?? `unknown:${input.email}`);
  const verified = await passwords.verify(
    row?.user.passwordHash ?? (await dummyHash(passwords)),
    input.password,
  );
  if (!row || !verified.ok || lockedUntil) {
    const reason = !row ? "unknown_email" : lockedUntil ? "account_locked" : "wrong_password";
    await audit(deps, meta, {
      orgId: row?.orgId ?? null,
      actorType: "anonymous",
      actorId: null,
      action: "auth.login_failed",
      ...(row ? { targetType: "user", targetId: row.user.id } : {}),
      metadata: { email: input.email, reason },
    });
    if (row && reason === "wrong_password") {
      const locked = await lockout.recordFailure(kv, config, row.user.id, clock.now());
      if (locked) await accountLocked(deps, row.user, locked, meta);
    }
    throw invalidCredentials();
  }
  const { user } = row;
  await lockout.clearFailures(kv, user.id);
  if (verified.needsRehash) {
    // Parameters changed since this hash was made (spec 2.1): upgrade it while we hold the password.
    const fresh = await passwords.hash(input.password);
    await repo.replacePasswordHash(db, user.id, user.passwordHash, fresh, clock.now());
  }
  if (await twoFactorEnabled(db, user.id)) {
    const challenge = await createChallenge(deps, user.id, meta);
    await audit(deps, meta, {
      orgId: row.orgId ?? null,
      actorType: "user",
      actorId: user.id,
      action: "auth.login_mfa_required",
      targetType: "user",
      targetId: user.id,
    });
    return challenge;
  }
  return startSession(deps, user, row.orgId ?? null, meta);
}

async function accountLocked(
  deps: AuthDeps,
  user: repo.UserRow,
  locked: { failures: number; until: Date },
  meta: RequestMeta,
): Promise<void> {
  await auditUser(deps, user.id, {
    ...meta,
    actorType: "system",
    actorId: null,
    action: "auth.account_locked",
    metadata: { failures: locked.failures, until: locked.until.toISOString() },
  });
  deps.defer(
    deps.mailer.send(renderAccountLocked(deps.config, { to: user.email, name: user.name, ...locked })),
  );
}

/** Creates the session (refresh-token family) and audits the login. */
export async function startSession(
  deps: AuthDeps,
  user: repo.UserRow,
  orgId: string | null,
  meta: RequestMeta,
  metadata?: Record<string, unknown>,
): Promise<LoginResult> {
  const tokens = await deps.sessions.create({
    userId: user.id,
    orgId,
    userAgent: meta.userAgent,
    ip: meta.ip,
  });
  await audit(deps, meta, {
    orgId,
    actorType: "user",
    actorId: user.id,
    action: "auth.login",
    targetType: "session",
    targetId: tokens.sessionId,
    ...(metadata ? { metadata } : {}),
  });
  return { ...tokens, user: presentUser(user) };
}

export type RefreshResult = { ok: true; tokens: TokenPair } | { ok: false; error: AppError };

/** `POST /auth/refresh`: rotation; a replayed (already rotated) token revokes the session and is audited. */
export async function refresh(deps: AuthDeps, token: string, meta: RequestMeta): Promise<RefreshResult> {
  const outcome = await deps.sessions.refresh(token, { ip: meta.ip, userAgent: meta.userAgent });
  if (outcome.ok) return { ok: true, tokens: outcome.tokens };
  if (outcome.reason === "reused") {
    await audit(deps, meta, {
      orgId: await repo.sessionOrg(deps.db, outcome.sessionId),
      actorType: "anonymous",
      actorId: null,
      action: "auth.refresh_reused",
      targetType: "session",
      targetId: outcome.sessionId,
      metadata: { userId: outcome.userId, sessionRevoked: true },
    });
    return {
      ok: false,
      error: new AppError(
        401,
        "REFRESH_TOKEN_REUSED",
        "This refresh token was already used; the session has been revoked. Sign in again.",
      ),
    };
  }
  return {
    ok: false,
    error: new AppError(401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid, expired or revoked"),
  };
}
