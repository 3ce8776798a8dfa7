import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { nextLink } from "../../lib/pagination";
import { roleAllows } from "../orgs/permissions";
import { resolveMember } from "../time/time.service";
import { allows, orgMember } from "../tokens/tokens.guards";
import { detailedRoute, summaryRoute, weeklyRoute } from "./reports.routes";
import { detailed, type ReportDeps, summary, type Viewer, weekly } from "./reports.service";

function deps(c: Context<AppEnv>): ReportDeps {
  const { db, clock } = c.get("platform");
  return { db, clock };
}

/**
 * Members report on their own time. `data:read_all` (admins, managers) reads everyone's; a
 * read-only role (one that cannot track time itself: viewer) reads the organization's aggregates
 * (summary, weekly) but not other members' individual entries.
 */
async function viewer(c: Context<AppEnv>): Promise<Viewer> {
  const p = orgMember(c);
  const readAll = allows(p, "data:read_all", "GET");
  return {
    orgId: p.orgId,
    memberId: await resolveMember(c.get("platform").db, p.orgId, p.userId),
    readAll,
    orgAggregates: readAll || !roleAllows(p.role, "own:write"),
  };
}

/** `/api/v1/reports/*`: read-only. */
export function registerReports(app: Router): void {
  app.openapi(summaryRoute, async (c) =>
    c.json(await summary(deps(c), await viewer(c), c.req.valid("query")), 200),
  );

  app.openapi(weeklyRoute, async (c) =>
    c.json(await weekly(deps(c), await viewer(c), c.req.valid("query")), 200),
  );

  app.openapi(detailedRoute, async (c) => {
    const out = await detailed(deps(c), await viewer(c), c.req.valid("query"));
    const link = nextLink(c.req.url, out.nextCursor);
    if (link) c.header("Link", link);
    return c.json(out, 200);
  });
}
