import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { CidrSet, resolveClientIp } from "../../lib/ip";
import type { Logger, Platform } from "../../ports/platform";
import type { AppEnv, Services } from "../context";
import { onError } from "../problem";
import { isCors, type Responses } from "./responses";

/**
 * Route template the request was routed to (`/api/v1/admin/jobs/:id/run`), never the raw path: the
 * last matched route of a method, also when the request was refused before its handler ran (401,
 * 415, 429), so those count against the route they were for. "unmatched" when no route matched.
 */
export function routeTemplate(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL") return route.path;
  }
  return "unmatched";
}

/**
 * A child logger made on first use: binding a pino child runs the redaction over its bindings, which
 * cost more than the rest of a cheap request (profiled on GET /me) while most requests never log.
 */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy(parent, {
    get(_target, prop) {
      child ??= parent.child(bindings);
      const value = Reflect.get(child, prop, child);
      return typeof value === "function" ? value.bind(child) : value;
    },
  });
}

/** A client's request id is kept only when well formed: [A-Za-z0-9_=-], at most 128 characters. */
const CLIENT_REQUEST_ID = /^[\w=-]{1,128}$/;

/**
 * Per-request context: the request id (the client's `X-Request-Id` when well formed, else a new
 * UUID; echoed in the answer), platform and services in `c.var`, a child logger bound to the request
 * id, the client IP, a `defer` that survives the response, and one access-log line plus HTTP
 * metrics (labelled by route template) when the response is ready.
 * The request id is hono/request-id's rule, done here rather than by that middleware: one Hono
 * layer fewer on every request (each profiled at about half a microsecond).
 */
export function requestContext(
  platform: Platform,
  services: Services,
  responses: Responses,
): MiddlewareHandler<AppEnv> {
  const { TRUST_PROXY, TRUSTED_PROXIES } = platform.config;
  const trustedProxies = new CidrSet(TRUSTED_PROXIES);
  const hasExecutionCtx = platform.runtime === "worker";
  return async (c, next) => {
    const started = performance.now();
    const asked = c.req.header("x-request-id");
    const requestId = asked !== undefined && CLIENT_REQUEST_ID.test(asked) ? asked : crypto.randomUUID();
    c.set("requestId", requestId);
    const logger = lazyChild(platform.logger, { requestId });
    c.set("platform", platform);
    c.set("services", services);
    c.set("logger", logger);
    // How this request's answer is built and what it carries, X-Request-Id included (responses.ts).
    const answer = responses.begin(c, requestId, isCors(c));
    // Socket address unless TRUST_PROXY names the header our proxy sets (lib/ip.ts resolveClientIp),
    // worked out when first asked: most requests never need it (asking Bun for the socket address
    // profiled at 2% of a cheap authenticated GET).
    let ip: string | undefined;
    c.set("clientIp", () => {
      ip ??= resolveClientIp({
        socketIp: c.env?.ip,
        header: TRUST_PROXY,
        headerValue: TRUST_PROXY ? c.req.header(TRUST_PROXY) : undefined,
        trustedProxies,
      });
      return ip;
    });
    // Only Workers hand an ExecutionContext (reading it elsewhere throws, which costs on every request).
    const waitUntil = hasExecutionCtx ? c.executionCtx.waitUntil.bind(c.executionCtx) : undefined;
    c.set("defer", (p) => {
      platform.defer(p);
      waitUntil?.(p);
    });
    try {
      // A step that answers instead of calling next (a CORS preflight) returns its Response.
      const answered: unknown = await next();
      if (answered instanceof Response && !c.finalized) c.res = answered;
    } catch (err) {
      // What Hono does at the edge of a layer, done here because this runs inside the request chain
      // (http/middleware/chain.ts): the error becomes the problem answer before the access log and
      // metrics below read its status.
      if (!(err instanceof Error)) throw err;
      c.error = err;
      c.res = onError(err, c);
    } finally {
      responses.finish(c, answer);
      const seconds = (performance.now() - started) / 1000;
      const route = routeTemplate(c);
      const status = c.res.status;
      platform.metrics.httpRequest({ method: c.req.method, route, status }, seconds);
      const level = status >= 500 ? "error" : c.req.path.startsWith("/health/") ? null : "info";
      if (level !== null && platform.logger.isLevelEnabled(level)) {
        const line = {
          req: {
            method: c.req.method,
            url: new URL(c.req.url).pathname,
            route,
            headers: Object.fromEntries(c.req.raw.headers),
          },
          res: { status },
          ip: c.get("clientIp")(),
          durationMs: Math.round(seconds * 10000) / 10,
        };
        logger[level](line, "request completed");
      }
    }
  };
}
