import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { statsCache } from "../members/stats.cache";
import { roleAllows } from "../orgs/permissions";
import { orgMember } from "../tokens/tokens.guards";
import { ingestHeartbeatsRoute } from "./activity.routes";
import { ingestHeartbeats } from "./ingest.service";
import { registerUsage } from "./usage.handlers";

function deps(c: Context<AppEnv>) {
  const { db, clock, logger } = c.get("platform");
  return { db, clock, logger, events: c.get("services").events };
}

/** Heartbeat ingest (agents), and the per-member activity reads: app usage and timeline. */
export function registerActivity(app: Router): void {
  app.openapi(ingestHeartbeatsRoute, async (c) => {
    const p = orgMember(c);
    // The agent's member must still hold a tracking role (a member demoted to viewer stops tracking).
    if (!roleAllows(p.role, "own:write"))
      throw new AppError(403, "FORBIDDEN", "Your role does not track activity (own:write)");
    const actor = p.kind === "user" ? p.userId : p.tokenId;
    const out = await ingestHeartbeats(
      deps(c),
      { orgId: p.orgId, userId: p.userId, actor },
      c.req.valid("json").heartbeats,
    );
    if (out.accepted > 0) await statsCache.invalidateActivity(c.get("platform").kv, out.orgId);
    return c.json(
      { accepted: out.accepted, duplicates: out.duplicates, dropped: out.dropped, status: out.status },
      200,
    );
  });
  registerUsage(app);
}
