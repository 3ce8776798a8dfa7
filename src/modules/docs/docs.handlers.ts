import { createRoute, z } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { Router } from "../../http/openapi";
import { problemResponses, publicSecurity } from "../../http/openapi";
import { AppError } from "../../lib/errors";

export const OPENAPI_PATH = "/api/v1/openapi.json";
export const SCALAR_BUNDLE_PATH = "/docs/scalar.js";

/**
 * The docs page may run Scalar's script and inline styles, load only from this origin, and connect
 * only back to this API: nothing reaches a CDN.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join("; ");

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocs",
  tags: ["Documentation"],
  summary: "Interactive API reference (Scalar)",
  description: "Served entirely by this server: the Scalar bundle comes from /docs/scalar.js, not a CDN.",
  security: publicSecurity,
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: z.string() } } },
    ...problemResponses(),
  },
});

export function registerDocs(app: Router): void {
  // Built on first request (every route is registered by then) and kept: the document never changes.
  let document: ReturnType<Router["getOpenAPI31Document"]> | undefined;
  const build = (publicUrl: string, version: string) =>
    app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "TeamTrack API",
        version,
        description:
          "Team time and activity tracking: identity, members, projects, timers, agent ingest, reports. Errors are RFC 9457 problem+json; lists use cursor pagination.",
        license: { name: "MIT", url: "https://opensource.org/license/mit" },
        contact: { name: "TeamTrack", url: "https://teamtrack.dev" },
      },
      servers: [{ url: publicUrl, description: "This server" }],
      tags: [
        { name: "Health", description: "Liveness, readiness and detailed health" },
        { name: "Operations", description: "Metrics for monitoring" },
        { name: "Auth", description: "Registration, login, refresh-token rotation, sessions" },
        { name: "Account", description: "Email verification, password reset and change" },
        { name: "Organizations", description: "Organizations and their members (role-based access)" },
        { name: "Invitations", description: "Invite people to an organization" },
        { name: "Tokens", description: "Personal access tokens and desktop agent tokens" },
        { name: "Audit", description: "Tamper-evident audit log (admins)" },
        { name: "Jobs", description: "Scheduled jobs (operator only)" },
        { name: "Documentation", description: "This document and its interactive reference" },
      ],
    });
  app.get(OPENAPI_PATH, (c) => {
    const { config } = c.get("platform");
    if (!document) document = build(config.publicUrl, config.version);
    return c.json(document, 200, { "Cache-Control": "public, max-age=60" });
  });

  app.openapi(
    docsRoute,
    Scalar({
      url: OPENAPI_PATH,
      cdn: SCALAR_BUNDLE_PATH,
      pageTitle: "TeamTrack API reference",
      withDefaultFonts: false,
      hideClientButton: true,
      telemetry: false,
      // Scalar enables its "Ask AI" agent on localhost/.local/.test hosts and then calls proxy.scalar.com.
      agent: { disabled: true },
      showDeveloperTools: "never",
    } as Parameters<typeof Scalar>[0]) as never,
  );

  app.get(SCALAR_BUNDLE_PATH, async (c) => {
    const res = await c.get("platform").assets.scalarBundle();
    if (!res) throw new AppError(404, "NOT_FOUND", "The docs bundle is not part of this build");
    const headers = new Headers(res.headers);
    headers.set("Content-Type", "text/javascript; charset=utf-8");
    headers.set("Cache-Control", "public, max-age=86400");
    return c.body(res.body as ReadableStream, { status: 200, headers });
  });
}
