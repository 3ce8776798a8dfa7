import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../context";
import { CURRENT_API_VERSION } from "./api";

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const HSTS = "max-age=63072000; includeSubDomains";

type HeaderList = readonly (readonly [string, string])[];

/**
 * The security headers of every answer (SPEC 1: nosniff, Referrer-Policy, frame denial, HSTS in
 * production) and, under /api/v1, the API's own (`API-Version`, `Cache-Control: private, no-store`
 * unless the route says otherwise, `Vary`). These are the headers OWASP's REST Security Cheat Sheet
 * asks of a JSON API; the browser-document ones (COOP, CORP, Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) go on the HTML docs page,
 * which `documentHeaders` covers with Hono's secureHeaders.
 *
 * Set on the response being prepared, before the handler, as one precomputed list: a route still
 * overrides any of them with `c.header` or its own headers (the docs CSP, public caching of the
 * OpenAPI document). Setting them after the handler instead meant a `has` and a `set` per header on
 * the finished response (profiled at ~10% of a cheap authenticated GET, with the six extra headers
 * written on every answer).
 */
export function standardHeaders(opts: {
  hsts: boolean;
  /** Hono's cors(), run for CORS requests only (see below). */
  cors: MiddlewareHandler<AppEnv>;
}): MiddlewareHandler<AppEnv> {
  const common: HeaderList = [
    ["X-Content-Type-Options", "nosniff"],
    ["X-Frame-Options", "DENY"],
    ["Referrer-Policy", "no-referrer"],
    ["Content-Security-Policy", API_CSP],
    ...(opts.hsts ? [["Strict-Transport-Security", HSTS] as const] : []),
  ];
  const api: HeaderList = [
    ...common,
    ["API-Version", CURRENT_API_VERSION],
    ["Cache-Control", "private, no-store"],
  ];
  // An Origin makes it a CORS request: Hono's cors() then adds `Origin` to Vary itself.
  const vary = (isApi: boolean, cors: boolean) =>
    `${cors ? "" : "Origin, "}${isApi ? "Accept-Version, " : ""}Accept-Encoding`;
  const VARY = {
    api: vary(true, false),
    apiCors: vary(true, true),
    other: vary(false, false),
    otherCors: vary(false, true),
  };
  // Only a request with an Origin is a CORS request. Hono's cors() reads `c.res` before the handler
  // runs, which makes Hono build the response three times over (profiled: three extra Response
  // objects and a header copy per request); agents, CLIs and servers send no Origin and skip it.
  // `Vary: Origin` still goes on every response, so a cache never serves one origin's answer to
  // another. OPTIONS keeps cors()'s 204 with or without an Origin.
  return (c, next) => {
    const isApi = c.req.path.startsWith("/api/v1/");
    const cors = c.req.method === "OPTIONS" || c.req.header("origin") !== undefined;
    for (const [name, value] of isApi ? api : common) c.header(name, value);
    c.header("Vary", isApi ? (cors ? VARY.apiCors : VARY.api) : cors ? VARY.otherCors : VARY.other);
    return cors ? opts.cors(c, next) : next();
  };
}

/** Hono's secureHeaders for HTML documents (the docs page): the full browser set and their CSP. */
export function documentHeaders(opts: { hsts: boolean; csp: string }): MiddlewareHandler<AppEnv> {
  const headers = secureHeaders({
    strictTransportSecurity: opts.hsts ? HSTS : false,
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-site",
    crossOriginOpenerPolicy: "same-origin",
    xXssProtection: "0",
  });
  return async (c, next) => {
    await headers(c, next);
    c.res.headers.set("Content-Security-Policy", opts.csp);
  };
}
