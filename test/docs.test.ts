import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import type { Subprocess } from "bun";
import { createTestApp } from "./support/app";
import { requires, which } from "./support/requirements";
import { freePort, waitForHttp } from "./support/tools";

const ROOT = join(import.meta.dir, "..");
const PROBLEM_REF = "#/components/schemas/Problem";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * Error responses that deliberately do not use the Problem component. Readiness answers 503 with the
 * same body as 200 so a probe (and a human) sees which check failed. Anything else is a contract bug.
 */
const NON_PROBLEM_ERRORS: Record<string, string> = {
  "GET /health/ready 503": "#/components/schemas/Readiness",
};

/** Routes served outside the OpenAPI document on purpose: the document itself and the docs bundle. */
const UNDOCUMENTED_ROUTES = new Set(["GET /api/v1/openapi.json", "GET /docs/scalar.js"]);

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
type Json = any;

interface Operation {
  key: string;
  path: string;
  method: string;
  op: Json;
}

function operations(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) out.push({ key: `${method.toUpperCase()} ${path}`, path, method, op: item[method] });
    }
  }
  return out;
}

const isError = (status: string) => status === "default" || /^[45]/.test(status);

const t = await createTestApp();
const docRes = await t.app.request("/api/v1/openapi.json");
const doc: Json = await docRes.json();
afterAll(() => t.close());

describe("OpenAPI document", () => {
  test("is served as JSON at /api/v1/openapi.json", () => {
    expect(docRes.status).toBe(200);
    expect(docRes.headers.get("content-type")).toContain("application/json");
    expect(operations(doc).length).toBeGreaterThan(0);
  });

  test("passes `redocly lint` with the recommended ruleset (exit 0, no errors)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tt-redocly-"));
    try {
      const file = join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const proc = Bun.spawn(
        [join(ROOT, "node_modules/.bin/redocly"), "lint", file, "--extends=recommended", "--format=json"],
        {
          cwd: dir, // no stray redocly.yaml can change the rules
          env: {
            PATH: process.env.PATH ?? "",
            HOME: dir,
            REDOCLY_TELEMETRY: "off",
            REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
          },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      const report = JSON.parse(out.slice(out.indexOf("{"))) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems.filter((p) => p.severity === "error");
      expect(
        errors.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`),
        err,
      ).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("passes swagger-parser validation", async () => {
    // validate() dereferences in place: give it a copy so the other tests see the original $refs.
    const api = await SwaggerParser.validate(structuredClone(doc));
    expect((api as Json).openapi).toBe("3.1.0");
  });

  test("is OpenAPI 3.1.0 with the Problem component and a bearerAuth scheme", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("TeamTrack API");
    const problem = doc.components?.schemas?.Problem;
    expect(problem).toBeDefined();
    expect(problem.type).toBe("object");
    expect(problem.required).toEqual(
      expect.arrayContaining(["type", "title", "status", "code", "requestId"]),
    );
    expect(doc.components?.securitySchemes?.bearerAuth).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
  });

  test("every operation states its security, naming only declared schemes", () => {
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    const missing = operations(doc)
      .filter(({ op }) => !Array.isArray(op.security))
      .map((o) => o.key);
    expect(missing).toEqual([]);
    for (const { key, op } of operations(doc)) {
      for (const requirement of op.security as Record<string, string[]>[]) {
        for (const name of Object.keys(requirement)) expect(schemes, `${key} uses ${name}`).toContain(name);
      }
    }
  });

  test("protected operations require bearerAuth and document 401", () => {
    const protectedOps = operations(doc).filter(
      ({ path }) =>
        path.startsWith("/api/v1/admin/") || path === "/metrics" || path === "/api/v1/health/detailed",
    );
    expect(protectedOps.length).toBeGreaterThanOrEqual(5);
    for (const { key, op } of protectedOps) {
      expect(op.security, key).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(op.responses), key).toContain("401");
    }
    for (const { key, op } of operations(doc)) {
      if ((op.security as unknown[]).length > 0) expect(Object.keys(op.responses), key).toContain("401");
    }
  });

  test("every error response is the Problem component as application/problem+json", () => {
    const wrong: string[] = [];
    for (const { key, op } of operations(doc)) {
      const statuses = Object.keys(op.responses ?? {});
      if (!statuses.some(isError)) wrong.push(`${key}: no error response documented`);
      for (const status of statuses.filter(isError)) {
        const content = op.responses[status].content ?? {};
        const id = `${key} ${status}`;
        const expected = NON_PROBLEM_ERRORS[id];
        if (expected) {
          if (content["application/json"]?.schema?.$ref !== expected)
            wrong.push(`${id}: expected ${expected}`);
          continue;
        }
        const types = Object.keys(content);
        if (types.length !== 1 || types[0] !== "application/problem+json")
          wrong.push(`${id}: content types ${JSON.stringify(types)}`);
        else if (content["application/problem+json"].schema?.$ref !== PROBLEM_REF)
          wrong.push(`${id}: schema ${JSON.stringify(content["application/problem+json"].schema)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("every route the app serves is in the document (declared with createRoute)", () => {
    const documented = new Set(operations(doc).map((o) => o.key));
    const served = new Set(
      t.app.routes
        .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
        .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`),
    );
    const undocumented = [...served].filter((k) => !documented.has(k) && !UNDOCUMENTED_ROUTES.has(k));
    expect(undocumented).toEqual([]);
    // And the document promises nothing the app does not serve.
    expect([...documented].filter((k) => !served.has(k))).toEqual([]);
  });
});

describe("/docs (Scalar, served offline)", () => {
  test("the HTML loads no script, stylesheet or font from another origin", async () => {
    const res = await t.app.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();

    const refs = [
      ...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']/gi),
    ].map((m) => m[1] as string);
    expect(refs).toContain("/docs/scalar.js");
    const offOrigin = refs.filter((u) => /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(u));
    expect(offOrigin).toEqual([]);
    for (const cdn of ["cdn.jsdelivr", "unpkg", "fonts.", "cdn.scalar", "esm.sh", "cdnjs"])
      expect(html).not.toContain(cdn);
    expect(html).not.toMatch(/@import\s+url\(\s*["']?https?:/i);
    // The page points Scalar at the app's own document.
    expect(html).toContain("/api/v1/openapi.json");
  });

  test("carries a Content-Security-Policy that keeps everything on this origin", async () => {
    const res = await t.app.request("/docs");
    const csp = res.headers.get("content-security-policy");
    expect(csp).toBeTruthy();
    const directives = Object.fromEntries(
      (csp as string).split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives["default-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    for (const [name, values] of Object.entries(directives))
      for (const v of values as string[]) expect(v, `${name} allows ${v}`).not.toMatch(/^(https?:|\*|\/\/)/);
  });

  test("/docs/scalar.js is the Scalar bundle, served as JavaScript by the app", async () => {
    const res = await t.app.request("/docs/scalar.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^(?:text|application)\/javascript\b/);
    const js = await res.text();
    expect(js.length).toBeGreaterThan(100_000);
    expect(js).toContain("createApiReference"); // what the /docs page calls
  });
});

/** What one headless Chromium visit of /docs left behind. */
interface BrowserVisit {
  origin: string;
  dom: string;
  consoleLines: string[];
  /** Every request the page itself initiated (netlog entries whose initiator is the page's origin). */
  pageRequests: string[];
}

/** URLs Chromium fetched on behalf of the page (initiator = the page origin), from a NetLog file. */
function pageRequestsFromNetLog(path: string, origin: string): string[] {
  const log = JSON.parse(readFileSync(path, "utf8")) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { url?: string; initiator?: string } }[];
  };
  const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === startJob && e.params?.initiator === origin && e.params.url)
    .map((e) => e.params?.url as string);
}

if (requires("chromium", !!which("chromium"), "apt-get install -y --no-install-recommends chromium")) {
  describe("/docs in a real browser (bun server + headless Chromium)", () => {
    const tmp = mkdtempSync(join(tmpdir(), "tt-docs-browser-"));
    let server: Subprocess | undefined;
    let visit: BrowserVisit;

    beforeAll(async () => {
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      server = Bun.spawn([process.execPath, "src/runtime/bun.ts"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: tmp,
          HOST: "127.0.0.1",
          PORT: String(port),
          DATA_DIR: join(tmp, "data"),
          NODE_ENV: "development",
          JOBS_ENABLED: "false",
          LOG_LEVEL: "warn",
        },
        stdout: "ignore",
        stderr: Bun.file(join(tmp, "server.log")),
      });
      await waitForHttp(`${origin}/health/live`);

      const netlog = join(tmp, "netlog.json");
      const chromium = Bun.spawn(
        [
          which("chromium") as string,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          `--user-data-dir=${join(tmp, "profile")}`,
          "--virtual-time-budget=15000",
          "--enable-logging=stderr",
          "--v=0",
          `--log-net-log=${netlog}`,
          "--dump-dom",
          `${origin}/docs`,
        ],
        { stdout: "pipe", stderr: "pipe", timeout: 90_000 },
      );
      const [dom, stderr, code] = await Promise.all([
        new Response(chromium.stdout).text(),
        new Response(chromium.stderr).text(),
        chromium.exited,
      ]);
      if (code !== 0) throw new Error(`chromium exited ${code}:\n${stderr.slice(-2000)}`);
      visit = {
        origin,
        dom,
        consoleLines: stderr.split("\n").filter((l) => l.includes(":CONSOLE")),
        pageRequests: pageRequestsFromNetLog(netlog, origin),
      };
    }, 120_000);

    afterAll(async () => {
      if (server) {
        server.kill("SIGTERM");
        await server.exited;
      }
      rmSync(tmp, { recursive: true, force: true });
    });

    test("Scalar renders the API reference from the app's own document", () => {
      const { dom } = visit;
      // The <title> says "TeamTrack API reference" before any script runs; only a rendered reference
      // has the document's title as a heading, its description and its operation summaries.
      expect(dom).toMatch(/<h1[^>]*>\s*TeamTrack API\s*<\/h1>/);
      expect(dom).toContain("Team time and activity tracking");
      expect(dom).toContain("Liveness probe");
      expect(dom).toContain("Readiness probe");
      expect(dom).not.toContain("Scalar is not defined");
    });

    test("the page loads its bundle and document from this origin and requests nothing elsewhere", () => {
      const { pageRequests, origin } = visit;
      expect(pageRequests).toContain(`${origin}/docs/scalar.js`);
      expect(pageRequests).toContain(`${origin}/api/v1/openapi.json`);
      expect(pageRequests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    });

    test("the page runs without script errors", () => {
      const errors = visit.consoleLines.filter((l) =>
        /Uncaught|TypeError|ReferenceError|SyntaxError/.test(l),
      );
      expect(errors).toEqual([]);
    });

    // KNOWN GAP: Scalar's "Ask AI" agent is on by default when the page is served from localhost/127.0.0.1
    // and fetches https://proxy.scalar.com/?scalar_url=https://api.scalar.com/vector/registry/curated.
    // The CSP blocks it (so nothing leaves, see the test above), but the page should not try at all.
    // Fix in src/modules/docs/docs.handlers.ts: pass `agent: { disabled: true }` (and
    // `showDeveloperTools: "never"`) to Scalar(). Then turn this `test.failing` into `test`.
    test("the page attempts no connection the CSP has to block", () => {
      const violations = visit.consoleLines.filter((l) => /Content Security Policy/i.test(l));
      expect(violations).toEqual([]);
    });
  });
}
