import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../context";
import { CURRENT_API_VERSION } from "./api";

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const HSTS = "max-age=63072000; includeSubDomains";

export interface HeaderTemplates {
  api: Headers;
  apiCors: Headers;
  other: Headers;
  otherCors: Headers;
}

/**
 * The headers every answer starts from (responses.ts copies one of these into each Response): the
 * security headers of SPEC 1 (nosniff, Referrer-Policy, frame denial, HSTS in production) and, under
 * /api/v1, the API's own (`API-Version`, `Cache-Control: private, no-store` unless the route says
 * otherwise), with `Vary`. These are the headers OWASP's REST Security Cheat Sheet asks of a JSON
 * API; the browser-document ones (COOP, CORP, Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) go on the HTML docs page,
 * which `documentHeaders` covers with Hono's secureHeaders.
 *
 * `Vary: Origin` is on every answer, so a cache never serves one origin's answer to another; on a
 * CORS request (one with an Origin) Hono's cors() adds `Origin` to Vary itself.
 */
export function headerTemplates(opts: { hsts: boolean }): HeaderTemplates {
  const common: [string, string][] = [
    ["X-Content-Type-Options", "nosniff"],
    ["X-Frame-Options", "DENY"],
    ["Referrer-Policy", "no-referrer"],
    ["Content-Security-Policy", API_CSP],
    ...(opts.hsts ? [["Strict-Transport-Security", HSTS] as [string, string]] : []),
  ];
  const api: [string, string][] = [
    ...common,
    ["API-Version", CURRENT_API_VERSION],
    ["Cache-Control", "private, no-store"],
  ];
  const vary = (isApi: boolean, cors: boolean) =>
    `${cors ? "" : "Origin, "}${isApi ? "Accept-Version, " : ""}Accept-Encoding`;
  const make = (list: [string, string][], isApi: boolean, cors: boolean) =>
    new Headers([...list, ["Vary", vary(isApi, cors)]]);
  return {
    api: make(api, true, false),
    apiCors: make(api, true, true),
    other: make(common, false, false),
    otherCors: make(common, false, true),
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
