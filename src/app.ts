import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { EventBus } from "./events/bus";
import type { Services } from "./http/context";
import { apiVersion, requireJsonBody } from "./http/middleware/api";
import { chain, under } from "./http/middleware/chain";
import { compression } from "./http/middleware/compression";
import { documentHeaders } from "./http/middleware/headers";
import { rateLimits } from "./http/middleware/limits";
import { requestContext } from "./http/middleware/request-context";
import { corsRequests, responses } from "./http/middleware/responses";
import { serverSpan } from "./http/middleware/telemetry";
import { notFoundHandler } from "./http/not-found";
import { createRouter, type Router } from "./http/openapi";
import { onError } from "./http/problem";
import { coreJobs } from "./jobs/core.jobs";
import { JobRunner } from "./jobs/runner";
import { AppError } from "./lib/errors";
import { SecretBox } from "./lib/secret-box";
import { registerAccount } from "./modules/account/account.handlers";
import { registerActivity } from "./modules/activity/activity.handlers";
import { activityJobs } from "./modules/activity/activity.jobs";
import { registerAudit } from "./modules/audit/audit.handlers";
import { AuditService } from "./modules/audit/audit.service";
import { registerAuth } from "./modules/auth/auth.handlers";
import { authenticate, type CachedAuth } from "./modules/auth/auth.middleware";
import { PrincipalCache } from "./modules/auth/principal-cache";
import { SessionService } from "./modules/auth/session.service";
import { registerDevMail } from "./modules/dev/dev.handlers";
import { DOCS_CSP, registerDocs } from "./modules/docs/docs.handlers";
import { registerIdle } from "./modules/idle/idle.handlers";
import { idleJobs } from "./modules/idle/idle.jobs";
import { registerIdleAlertMail } from "./modules/idle/idle.mail";
import { registerJobs } from "./modules/jobs/jobs.handlers";
import { keyJobs } from "./modules/keys/keys.jobs";
import { registerMembers } from "./modules/members/members.handlers";
import { registerOrgs } from "./modules/orgs/orgs.handlers";
import { registerProjects } from "./modules/projects/projects.handlers";
import { registerReports } from "./modules/reports/reports.handlers";
import { registerScreenshots } from "./modules/screenshots/screenshots.handlers";
import { screenshotJobs } from "./modules/screenshots/screenshots.jobs";
import { SCREENSHOT_BODY_LIMIT, SCREENSHOT_UPLOAD_PATH } from "./modules/screenshots/screenshots.service";
import { registerSystem } from "./modules/system/system.handlers";
import { registerTime } from "./modules/time/time.handlers";
import { registerTokens } from "./modules/tokens/tokens.handlers";
import { registerTrackingSettings } from "./modules/tracking-settings/tracking-settings.handlers";
import { registerTwoFactor } from "./modules/two-factor/two-factor.handlers";
import type { Platform } from "./ports/platform";
import { isRecordingTracer } from "./telemetry/db";

export interface AppInstance {
  app: Router;
  services: Services;
}

/**
 * Can every instance that serves this database hear the others' invalidations? One process on an
 * embedded database, or any number sharing Redis: yes. Workers isolates, or several processes on a
 * remote database without Redis: no, so they read sessions from the database on every request.
 */
function principalCacheShared(platform: Platform): boolean {
  if (platform.runtime === "worker") return false;
  const url = platform.config.databaseUrl;
  return !!platform.config.REDIS_URL || url.startsWith("file:") || url === ":memory:";
}

/** Builds the whole HTTP application on a platform. Call once per process or isolate. */
export function createApp(platform: Platform): AppInstance {
  const { config } = platform;
  const events = new EventBus({
    db: platform.db,
    clock: platform.clock,
    logger: platform.logger,
    defer: (p) => platform.defer(p),
  });
  const jobs = new JobRunner(platform, events);
  jobs.register(...coreJobs, ...keyJobs, ...activityJobs, ...idleJobs, ...screenshotJobs);
  registerIdleAlertMail(events, platform);
  const principals = new PrincipalCache<CachedAuth>({
    clock: platform.clock,
    ttlMs: principalCacheShared(platform) ? config.AUTH_CACHE_TTL_MS : 0,
    pubsub: platform.pubsub,
    onError: (err) => platform.logger.warn({ err }, "principal cache invalidation could not be published"),
  });
  principals
    .start()
    .catch((err) => platform.logger.warn({ err }, "principal cache disabled: no invalidation channel"));
  const sessions = new SessionService({
    principals,
    db: platform.db,
    clock: platform.clock,
    jwt: { secret: config.jwtSecret, issuer: config.jwtIssuer, audience: config.JWT_AUDIENCE },
    // A separate key from the JWT signing key, derived from the same secret by label.
    refreshKey: `${config.jwtSecret}\u0000refresh-successor`,
    graceMs: config.REFRESH_REUSE_GRACE_SECONDS * 1000,
  });
  const audit = new AuditService({ db: platform.db, clock: platform.clock, logger: platform.logger });
  const secrets = new SecretBox(config.encryptionKeys);
  const services: Services = { events, jobs, sessions, principals, audit, secrets };

  const app = createRouter();
  const corsHeaders = cors({
    origin: (origin) =>
      config.CORS_ORIGINS.includes("*") ? origin : config.CORS_ORIGINS.includes(origin) ? origin : null,
    credentials: true,
    maxAge: 600,
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Authorization",
      "Content-Type",
      "Accept-Version",
      "X-Request-Id",
      "If-None-Match",
      "Idempotency-Key",
      "traceparent",
      "tracestate",
    ],
    exposeHeaders: [
      "X-Request-Id",
      "API-Version",
      "ETag",
      "Link",
      "RateLimit",
      "RateLimit-Policy",
      "Retry-After",
      "Deprecation",
      "Sunset",
      "Location",
    ],
  });
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError(413, "PAYLOAD_TOO_LARGE", `The request body exceeds ${maxSize} bytes`);
      },
    });
  // Screenshot upload is the one multipart route, with its own 5 MiB limit; every other body is JSON.
  const isUpload = (path: string) => path === SCREENSHOT_UPLOAD_PATH;
  const jsonLimit = limitBody(config.BODY_LIMIT_BYTES);
  const uploadLimit = limitBody(SCREENSHOT_BODY_LIMIT);
  const jsonOnly = requireJsonBody(isUpload);
  // The steps every request takes, in this order, as one layer (http/middleware/chain.ts).
  app.use(
    "*",
    chain(
      // Tracing off (no exporter): no span to make, no context to carry, no step.
      ...(isRecordingTracer(platform.tracer) ? [serverSpan(platform.tracer)] : []),
      // Request id, logger, client IP, access log and metrics; it turns an error thrown after it into
      // the problem answer itself, so what it logs and counts is the status that went out.
      requestContext(platform, services, responses({ hsts: config.isProduction, apiPrefix: "/api/v1/" })),
      corsRequests(corsHeaders),
      // On Workers, workerd and Cloudflare's edge compress responses; doing it here too would double-encode.
      ...(platform.runtime !== "worker" ? [compression(1024)] : []),
      under(
        "/api/v1",
        chain(
          apiVersion(),
          // Both body checks; a request without a body (every GET) has nothing to check.
          (c, next) =>
            c.req.raw.body === null
              ? next()
              : (isUpload(c.req.path) ? uploadLimit : jsonLimit)(c, () => jsonOnly(c, next) as Promise<void>),
          authenticate(),
          rateLimits(config),
        ),
      ),
    ),
  );
  app.use("/docs", documentHeaders({ hsts: config.isProduction, csp: DOCS_CSP }));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "Access token, personal access token, agent token, or the operator/metrics token where stated.",
  });

  registerSystem(app);
  registerJobs(app);
  registerAuth(app);
  registerTwoFactor(app);
  registerOrgs(app);
  registerAccount(app);
  registerTokens(app);
  registerTrackingSettings(app);
  registerProjects(app);
  registerTime(app);
  registerIdle(app);
  registerActivity(app);
  registerMembers(app, { events, kv: platform.kv });
  registerReports(app);
  registerScreenshots(app);
  registerAudit(app);
  registerDocs(app);
  if (config.NODE_ENV === "development") registerDevMail(app);

  app.notFound(notFoundHandler(() => app.routes));
  app.onError(onError);
  return { app, services };
}
