import type { Router } from "../../http/openapi";
import { auditContext } from "../audit/audit.service";
import { statsCache } from "../members/stats.cache";
import { orgMember } from "../tokens/tokens.guards";
import { getSettingsRoute, updateSettingsRoute } from "./tracking-settings.routes";
import { readSettings, type TrackingSettings, updateSettings } from "./tracking-settings.service";

const view = (s: TrackingSettings) => ({ ...s, updatedAt: s.updatedAt?.toISOString() ?? null });

/** `GET|PATCH /api/v1/settings/tracking` for the caller's organization. */
export function registerTrackingSettings(app: Router): void {
  app.openapi(getSettingsRoute, async (c) => {
    const p = orgMember(c);
    return c.json(view(await readSettings(c.get("platform").db, p.orgId)), 200);
  });

  app.openapi(updateSettingsRoute, async (c) => {
    const p = orgMember(c);
    const { db, clock, kv } = c.get("platform");
    const { settings, changed } = await updateSettings(
      { db, clock, audit: c.get("services").audit },
      p.orgId,
      c.req.valid("json"),
      auditContext(c),
    );
    // The week start and the idle threshold shape what `GET /members/stats` shows ("this week", status).
    if (changed) await statsCache.invalidate(kv, p.orgId);
    return c.json(view(settings), 200);
  });
}
