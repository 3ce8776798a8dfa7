/**
 * Cloudflare Workers entry point: HTTP through the same Hono app as Bun, Cron Triggers through the
 * same job definitions (dispatched by `controller.cron`). Platform and app are built once per isolate.
 */
import type { ExecutionContext } from "hono";
import { type AppInstance, createApp } from "../app";
import { PROBLEM_JSON } from "../http/problem";
import { defaultTitle, problemType } from "../lib/errors";
import {
  createWorkerPlatform,
  type WorkerEnv,
  type WorkerPlatform,
  withExecutionContext,
} from "../platform/worker";

/** What workerd passes to `scheduled()`. */
export interface ScheduledController {
  cron: string;
  scheduledTime: number;
  noRetry(): void;
}

interface Isolate extends AppInstance {
  platform: WorkerPlatform;
}

let cached: Isolate | undefined;

async function isolate(env: WorkerEnv, ctx: ExecutionContext): Promise<Isolate> {
  const platform = await createWorkerPlatform(env, ctx);
  // The platform promise is shared; the app is made once for whichever platform it resolved to.
  if (cached?.platform !== platform) cached = { platform, ...createApp(platform) };
  return cached;
}

/**
 * RFC 9457 answer for failures before the app exists (bad configuration, database unreachable). The
 * cause goes to the log only; the next request retries the build.
 */
function startupFailure(req: Request, err: unknown): Response {
  console.error(
    JSON.stringify({
      level: "fatal",
      msg: "TeamTrack worker failed to start",
      err: String((err as Error)?.message ?? err),
    }),
  );
  const body = {
    type: problemType("STARTUP_FAILED"),
    title: defaultTitle(503),
    status: 503,
    detail: "The service is starting or misconfigured; try again shortly",
    instance: new URL(req.url).pathname,
    code: "STARTUP_FAILED",
  };
  return new Response(JSON.stringify(body), {
    status: 503,
    headers: { "Content-Type": PROBLEM_JSON, "Retry-After": "5", "Cache-Control": "no-store" },
  });
}

export default {
  async fetch(req: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    return withExecutionContext(ctx, async () => {
      let it: Isolate;
      try {
        it = await isolate(env, ctx);
      } catch (err) {
        return startupFailure(req, err);
      }
      // Cloudflare sets CF-Connecting-IP itself; a client cannot forge it past the edge.
      const ip = req.headers.get("cf-connecting-ip") ?? undefined;
      const res = await it.app.fetch(req, { ...env, ip }, ctx);
      ctx.waitUntil(it.platform.flushTelemetry());
      return res;
    });
  },

  async scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const run = withExecutionContext(ctx, async () => {
      const { platform, services } = await isolate(env, ctx);
      if (!platform.config.JOBS_ENABLED) return;
      const outcomes = await services.jobs.runDue(controller.cron, new Date(controller.scheduledTime));
      platform.logger.debug(
        { cron: controller.cron, outcomes: outcomes.map((o) => o.status) },
        "cron dispatched",
      );
      await platform.flushTelemetry();
    });
    ctx.waitUntil(run);
    await run;
  },
};
