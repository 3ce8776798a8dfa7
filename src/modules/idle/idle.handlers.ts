import type { Router } from "../../http/openapi";
import { nextLink } from "../../lib/pagination";
import { actor, deps } from "../time/time.handlers";
import { getIdlePeriodRoute, listIdlePeriodsRoute, resolveIdlePeriodRoute } from "./idle.routes";
import { getPeriod, listPeriods, resolvePeriod } from "./idle.service";

/** Idle periods of the caller's organization (SPEC 3 "Idle detection"). */
export function registerIdle(app: Router): void {
  app.openapi(listIdlePeriodsRoute, async (c) => {
    const page = await listPeriods(deps(c), await actor(c), c.req.valid("query"));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json(page, 200);
  });

  app.openapi(getIdlePeriodRoute, async (c) =>
    c.json(await getPeriod(deps(c), await actor(c), c.req.valid("param").id), 200),
  );

  app.openapi(resolveIdlePeriodRoute, async (c) =>
    c.json(
      await resolvePeriod(deps(c), await actor(c), c.req.valid("param").id, c.req.valid("json").action),
      200,
    ),
  );
}
