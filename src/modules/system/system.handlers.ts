import { requirePrincipal } from "../../http/middleware/auth";
import type { Router } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { detailedRoute, liveRoute, metricsRoute, quickRoute, readyRoute } from "./system.routes";
import { detailedHealth, readiness } from "./system.service";

export function registerSystem(app: Router): void {
  app.openapi(liveRoute, (c) => c.json({ status: "pass" as const }, 200, { "Cache-Control": "no-store" }));

  app.openapi(readyRoute, async (c) => {
    const r = await readiness(c.get("platform"));
    const body = { status: r.ok ? ("pass" as const) : ("fail" as const), checks: r.checks };
    if (!r.ok) c.get("logger").warn({ checks: r.checks }, "readiness check failed");
    return r.ok
      ? c.json(body, 200, { "Cache-Control": "no-store" })
      : c.json(body, 503, { "Cache-Control": "no-store" });
  });

  app.openapi(quickRoute, (c) =>
    c.json(
      {
        status: "pass" as const,
        version: c.get("platform").config.version,
        time: c.get("platform").clock.now().toISOString(),
      },
      200,
    ),
  );

  app.use(detailedRoute.getRoutingPath(), requirePrincipal("operator", "metrics"));
  app.openapi(detailedRoute, async (c) =>
    c.json(await detailedHealth(c.get("platform"), c.get("services")), 200),
  );

  app.use(metricsRoute.getRoutingPath(), async (c, next) => {
    if (!c.get("platform").config.METRICS_TOKEN)
      throw new AppError(404, "NOT_FOUND", "Metrics are disabled: set METRICS_TOKEN");
    await next();
  });
  app.use(metricsRoute.getRoutingPath(), requirePrincipal("metrics", "operator"));
  app.openapi(metricsRoute, async (c) => {
    const { metrics } = c.get("platform");
    return c.text(await metrics.render(), 200, {
      "Content-Type": metrics.contentType,
      "Cache-Control": "no-store",
    });
  });
}
