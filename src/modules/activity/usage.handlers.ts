import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { isTimeZone, localDate } from "../../lib/time";
import { readableMember } from "../members/members.service";
import { allows, orgMember } from "../tokens/tokens.guards";
import { appUsageRoute, timelineRoute } from "./usage.routes";
import { memberAppUsage, memberTimeline, usageDays } from "./usage.service";

function viewer(c: Context<AppEnv>) {
  const p = orgMember(c);
  return { orgId: p.orgId, userId: p.userId, readAll: allows(p, "data:read_all", "GET") };
}

/** `GET /members/{id}/app-usage` and `GET /members/{id}/timeline`. */
export function registerUsage(app: Router): void {
  app.openapi(appUsageRoute, async (c) => {
    const { db, clock } = c.get("platform");
    const member = await readableMember(db, viewer(c), c.req.valid("param").id);
    const q = c.req.valid("query");
    const tz = q.tz ?? (isTimeZone(member.timezone) ? member.timezone : "UTC");
    const days = usageDays(q, tz, clock.now());
    c.header("Cache-Control", "private, no-store");
    return c.json(await memberAppUsage(db, member, days, tz), 200);
  });

  app.openapi(timelineRoute, async (c) => {
    const { db, clock } = c.get("platform");
    const member = await readableMember(db, viewer(c), c.req.valid("param").id);
    const q = c.req.valid("query");
    const tz = q.tz ?? (isTimeZone(member.timezone) ? member.timezone : "UTC");
    const now = clock.now();
    c.header("Cache-Control", "private, no-store");
    return c.json(await memberTimeline(db, member, q.date ?? localDate(now, tz), tz, now), 200);
  });
}
