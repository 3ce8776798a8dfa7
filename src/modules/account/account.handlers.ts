import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { auditContext } from "../audit/audit.service";
import { requireUserSession, userSession } from "../auth/auth.middleware";
import {
  changeEmailRoute,
  changePasswordRoute,
  forgotPasswordRoute,
  resendVerificationRoute,
  resetPasswordRoute,
  verifyEmailRoute,
} from "./account.routes";
import {
  type AccountDeps,
  changePassword,
  type RequestMeta,
  requestPasswordReset,
  resendVerification,
  resetPassword,
  verifyEmail,
} from "./account.service";
import { confirmEmailChange, isEmailChangeToken, requestEmailChange } from "./email-change.service";

function deps(c: Context<AppEnv>): AccountDeps {
  const { db, clock, mailer, config, passwords, rateLimiter } = c.get("platform");
  const { sessions, audit, principals } = c.get("services");
  return {
    db,
    clock,
    mailer,
    config,
    passwords,
    rateLimiter,
    sessions,
    audit,
    principals,
    defer: c.get("defer"),
  };
}

function meta(c: Context<AppEnv>): RequestMeta {
  const { ip, userAgent, requestId } = auditContext(c);
  return { ip, userAgent, requestId };
}

/** Email verification, email change, password reset and password change (spec 2.2, 2.3). */
export function registerAccount(app: Router): void {
  app.use(resendVerificationRoute.getRoutingPath(), requireUserSession());
  app.use(changePasswordRoute.getRoutingPath(), requireUserSession());
  app.use(changeEmailRoute.getRoutingPath(), requireUserSession());

  app.openapi(verifyEmailRoute, async (c) => {
    const { token } = c.req.valid("json");
    // Email-change links (spec 2.2) move the account to the address they were sent to.
    if (isEmailChangeToken(token)) await confirmEmailChange(deps(c), token, meta(c));
    else await verifyEmail(deps(c), token, meta(c));
    return c.json({ verified: true as const }, 200);
  });

  app.openapi(resendVerificationRoute, async (c) => {
    await resendVerification(deps(c), userSession(c).userId);
    return c.json({ accepted: true as const }, 202);
  });

  // Spec 2.5: forgot-password is limited per IP with the other policies (http/middleware/limits.ts).
  app.openapi(forgotPasswordRoute, async (c) => {
    // Everything happens after the response: status, body and timing are the same for every address.
    c.get("defer")(requestPasswordReset(deps(c), c.req.valid("json").email, meta(c)));
    return c.json({ accepted: true as const }, 202);
  });

  app.openapi(resetPasswordRoute, async (c) => {
    await resetPassword(deps(c), c.req.valid("json"), meta(c));
    return c.json({ passwordReset: true as const }, 200);
  });

  app.openapi(changePasswordRoute, async (c) => {
    const p = userSession(c);
    const { currentPassword, newPassword } = c.req.valid("json");
    const r = await changePassword(
      deps(c),
      { userId: p.userId, sessionId: p.sessionId, currentPassword, newPassword },
      meta(c),
    );
    return c.json({ passwordChanged: true as const, ...r }, 200);
  });

  app.openapi(changeEmailRoute, async (c) => {
    const p = userSession(c);
    const { password, newEmail } = c.req.valid("json");
    await requestEmailChange(deps(c), { userId: p.userId, password, newEmail }, meta(c));
    return c.json({ accepted: true as const }, 202);
  });
}
