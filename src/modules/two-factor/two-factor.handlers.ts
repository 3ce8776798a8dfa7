import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { findUserById } from "../auth/auth.accounts.repo";
import { deps, meta, pair, setRefreshCookie } from "../auth/auth.handlers";
import { requireUserSession, userSession } from "../auth/auth.middleware";
import {
  backupCodesRoute,
  disableRoute,
  enableRoute,
  setupRoute,
  statusRoute,
  verifyRoute,
} from "./two-factor.routes";
import * as twoFactor from "./two-factor.service";

/** 2FA is managed from a signed-in session only: a leaked API token must not switch it off. */
async function sessionUser(c: Context<AppEnv>) {
  const user = await findUserById(c.get("platform").db, userSession(c).userId);
  if (!user) throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
  return user;
}

/** TOTP two-factor authentication (SPEC 2.4). */
export function registerTwoFactor(app: Router): void {
  for (const route of [statusRoute, setupRoute, enableRoute, disableRoute, backupCodesRoute])
    app.use(route.getRoutingPath(), requireUserSession());

  app.openapi(statusRoute, async (c) => {
    const user = await sessionUser(c);
    return c.json(await twoFactor.status(deps(c), user.id), 200);
  });

  app.openapi(setupRoute, async (c) => {
    const user = await sessionUser(c);
    return c.json(await twoFactor.setup(deps(c), user, meta(c)), 200);
  });

  app.openapi(enableRoute, async (c) => {
    const user = await sessionUser(c);
    return c.json(await twoFactor.enable(deps(c), user, c.req.valid("json").code, meta(c)), 200);
  });

  app.openapi(verifyRoute, async (c) => {
    const result = await twoFactor.verifyChallenge(deps(c), c.req.valid("json"), meta(c));
    setRefreshCookie(c, result.refreshToken);
    return c.json({ ...pair(result), user: result.user }, 200);
  });

  app.openapi(disableRoute, async (c) => {
    const user = await sessionUser(c);
    await twoFactor.disable(deps(c), user, c.req.valid("json"), meta(c));
    return c.json({ enabled: false as const }, 200);
  });

  app.openapi(backupCodesRoute, async (c) => {
    const user = await sessionUser(c);
    return c.json(
      await twoFactor.regenerateBackupCodes(deps(c), user, c.req.valid("json").password, meta(c)),
      200,
    );
  });
}
