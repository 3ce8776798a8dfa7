/**
 * The real Workers bundle (built by wrangler, as deployed) running in workerd through Miniflare:
 * D1 + R2 + static assets, cron dispatch, redaction and tracing under workerd, and the same bundle
 * over a real libSQL server (sqld) instead of D1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Miniflare } from "miniflare";
import { ASSETS_DIR, buildWorker, type WorkerBuild } from "../../scripts/build-worker";
import { R2BlobStore, type R2BucketLike } from "../../src/adapters/blob/r2";
import { TEST_METRICS_TOKEN, TEST_OPERATOR_TOKEN } from "../support/app";
import { requires } from "../support/requirements";
import { type SqldServer, sqldBinary, startSqld } from "../support/tools";

const ROOT = join(import.meta.dir, "../..");
const wrangler = Bun.TOML.parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as {
  compatibility_date: string;
  compatibility_flags: string[];
};
const SECRETS = {
  JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
  ENCRYPTION_KEY: btoa("0123456789abcdef0123456789abcdef"),
  OPERATOR_TOKEN: TEST_OPERATOR_TOKEN,
  METRICS_TOKEN: TEST_METRICS_TOKEN,
};
const asOperator = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` };

let build: WorkerBuild;
const instances: Miniflare[] = [];

interface Worker {
  mf: Miniflare;
  /** Every console line the worker wrote. */
  logs: string[];
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

function startWorker(opts: { d1?: boolean; bindings?: Record<string, string> } = {}): Worker {
  const logs: string[] = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: build.scriptPath,
    // Module names are paths relative to this root; the bundle lives outside the project.
    modulesRoot: dirname(build.scriptPath),
    compatibilityDate: wrangler.compatibility_date,
    compatibilityFlags: wrangler.compatibility_flags,
    ...(opts.d1 ? { d1Databases: { DB: `teamtrack-${crypto.randomUUID()}` } } : {}),
    r2Buckets: ["BLOBS"],
    // Same routing as wrangler.toml's run_worker_first: the app sees every request.
    assets: {
      directory: ASSETS_DIR,
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    bindings: { ...SECRETS, ...opts.bindings },
    handleStructuredLogs: (log: { message: string }) => {
      logs.push(log.message);
    },
  });
  instances.push(mf);
  // Over Miniflare's HTTP listener, like a real client: Bun's fetch undoes one Content-Encoding, so
  // a body the runtime compressed twice would show up as gzip bytes instead of JSON.
  return { mf, logs, fetch: async (path, init) => fetch(new URL(path, await mf.ready), init) };
}

const jsonLines = (logs: string[]) =>
  logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

beforeAll(async () => {
  build = await buildWorker(join(tmpdir(), `tt-worker-${crypto.randomUUID()}`));
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`worker bundle ${build.scriptPath}: ${kib(build.bytes)}, gzip ${kib(build.gzipBytes)}`);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(instances.map((mf) => mf.dispose()));
  if (build) rmSync(dirname(build.scriptPath), { recursive: true, force: true });
});

describe("worker bundle", () => {
  test("stays small and contains no Bun/Node-only code", () => {
    // Cloudflare's limit is 3 MiB gzip (free plan). About 0.8 MiB of today's ~1.1 MiB is zxcvbn's
    // password dictionaries (SPEC 2.1); Scalar slipping in would add ~1 MiB more and fail this.
    expect(build.gzipBytes).toBeLessThan(1.5 * 1024 * 1024);
    const forbidden = [
      "src/platform/bun.ts",
      "src/runtime/bun.ts",
      "src/platform/dev-secrets.ts",
      "src/platform/scheduler.ts",
      "src/adapters/blob/fs.ts",
      "src/adapters/kv/redis.ts",
      "src/adapters/db/libsql.ts",
      "node_modules/croner/",
      "node_modules/ioredis/",
      "node_modules/@libsql/client/lib-esm/node.js",
      "node_modules/@libsql/client/lib-esm/sqlite3.js",
      "node_modules/libsql/",
      "node_modules/@scalar/api-reference/",
    ];
    expect(build.inputs.filter((i) => forbidden.some((f) => i.includes(f)))).toEqual([]);
    expect(build.inputs).toContain("node_modules/@libsql/client/lib-esm/web.js");
  });
});

describe("worker on D1 + R2 (Miniflare)", () => {
  let w: Worker;
  const spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] = [];
  let collector: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    collector = Bun.serve({
      port: 0,
      async fetch(req) {
        const body = (await req.json()) as {
          resourceSpans: { scopeSpans: { spans: (typeof spans)[number][] }[] }[];
        };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        return Response.json({});
      },
    });
    w = startWorker({
      d1: true,
      bindings: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}` },
    });
  });
  afterAll(() => collector?.stop(true));

  test("concurrent first requests share one platform build and one migration run", async () => {
    const fresh = startWorker({ d1: true });
    const all = await Promise.all(Array.from({ length: 6 }, () => fresh.fetch("/health/ready")));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const migrated = jsonLines(fresh.logs).filter((l) => l.msg === "migrations applied");
    expect(migrated).toHaveLength(1);
  });

  test("/health/ready passes with the D1 database migrated", async () => {
    const res = await w.fetch("/health/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(body.checks.database?.status).toBe("pass");
    expect(body.checks.migrations?.status).toBe("pass");
  });

  test("OpenAPI document is served, compressed once", async () => {
    const res = await w.fetch("/api/v1/openapi.json", { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    // The app's own gzip on top of workerd's would leave gzip bytes here after one decode.
    const doc = JSON.parse(await res.text()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/health/ready");
    expect(Object.keys(doc.paths)).toContain("/api/v1/admin/jobs");
  });

  test("/docs/scalar.js comes from static assets, byte for byte", async () => {
    const res = await w.fetch("/docs/scalar.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/javascript");
    expect(res.headers.get("x-request-id")).toBeTruthy(); // went through the app, not around it
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBe(readFileSync(join(ASSETS_DIR, "docs/scalar.js")).byteLength);
  });

  test("an unknown route is RFC 9457 problem+json", async () => {
    const res = await w.fetch("/no/such/route");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toStartWith("application/problem+json");
    expect(((await res.json()) as { status: number }).status).toBe(404);
  });

  test("operator runs db.optimize and the run is stored in D1", async () => {
    const res = await w.fetch("/api/v1/admin/jobs/db.optimize/run", { method: "POST", headers: asOperator });
    expect(res.status).toBe(200);
    const run = (await res.json()) as { id: string; status: string; result: Record<string, unknown> };
    expect(run.status).toBe("succeeded");
    expect(run.result.optimized).toBe(false); // D1 manages its own storage
    const d1 = await w.mf.getD1Database("DB");
    const row = await d1
      .prepare("SELECT job_id, status, trigger FROM job_runs WHERE id = ?")
      .bind(run.id)
      .first();
    expect(row).toEqual({ job_id: "db.optimize", status: "succeeded", trigger: "manual" });
  });

  test("screenshots.delete-blobs empties a queue of more keys than D1 binds in one statement", async () => {
    expect((await w.fetch("/health/ready")).status).toBe(200); // migrated
    const d1 = await w.mf.getD1Database("DB");
    const keys = Array.from({ length: 150 }, (_, i) => `org/queued-${i}.jpg`);
    await d1.batch(
      keys.map((k) =>
        d1
          .prepare(
            "INSERT INTO blob_deletions (key, queued_at, attempts, next_attempt_at) VALUES (?, 0, 0, 0)",
          )
          .bind(k),
      ),
    );
    const res = await w.fetch("/api/v1/admin/jobs/screenshots.delete-blobs/run", {
      method: "POST",
      headers: asOperator,
    });
    const run = (await res.json()) as {
      status: string;
      result: Record<string, unknown>;
      error: string | null;
    };
    expect([res.status, run.status, run.error]).toEqual([200, "succeeded", null]);
    expect(run.result).toEqual({ deleted: 150, failed: 0, more: false });
    expect(await d1.prepare("SELECT count(*) AS n FROM blob_deletions").first()).toEqual({ n: 0 });
  });

  test("a Cron Trigger dispatches the jobs on that cron only", async () => {
    // Typed by hand: miniflare's own types need @cloudflare/workers-types, which the project omits.
    const worker = (await w.mf.getWorker()) as unknown as {
      scheduled(opts: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }>;
    };
    const outcome = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
    expect(outcome.outcome).toBe("ok");
    const res = await w.fetch("/api/v1/admin/jobs", { headers: asOperator });
    const { data } = (await res.json()) as {
      data: { id: string; lastRun: { trigger: string; status: string } | null }[];
    };
    const byId = Object.fromEntries(data.map((j) => [j.id, j.lastRun]));
    expect(byId["events.relay"]).toMatchObject({ trigger: "schedule", status: "succeeded" });
    expect(byId["maintenance.prune-records"]).toBeNull();
  });

  test("register, log in and /me under workerd (argon2id in JavaScript: no run-time WebAssembly)", async () => {
    const email = `wk-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = "Quiet-Harbor-Worker-Lantern";
    const post = (path: string, body: unknown) =>
      w.fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post("/api/v1/auth/register", { email, password, name: "Worker" })).status).toBe(201);
    expect((await post("/api/v1/auth/login", { email, password: "Quiet-Harbor-Worker-Wrong" })).status).toBe(
      401,
    );
    const login = await post("/api/v1/auth/login", { email, password });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await w.fetch("/api/v1/me", { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);
  });

  test("logs are JSON lines with credentials redacted (pino's browser build under workerd)", async () => {
    const res = await w.fetch("/api/v1/health/detailed", {
      headers: { ...asOperator, cookie: "session=very-secret-cookie" },
    });
    expect(res.status).toBe(200);
    const detailed = (await res.json()) as { runtime: string; disk: unknown; memory: unknown };
    expect(detailed).toMatchObject({ runtime: "worker", disk: null, memory: null });
    const access = jsonLines(w.logs).find(
      (l) => (l.req as { url?: string } | undefined)?.url === "/api/v1/health/detailed",
    ) as { level: string; req: { headers: Record<string, string> } } | undefined;
    expect(access?.level).toBe("info");
    expect(access?.req.headers.authorization).toBe("[REDACTED]");
    expect(access?.req.headers.cookie).toBe("[REDACTED]");
    const all = w.logs.join("\n");
    expect(all).not.toContain(TEST_OPERATOR_TOKEN);
    expect(all).not.toContain("very-secret-cookie");
  });

  test("D1 round trips are instrumented: metrics and spans joined to the request's trace", async () => {
    const metrics = await (
      await w.fetch("/metrics", { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/db_query_duration_seconds_count\{operation="select",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/db_query_duration_seconds_count\{operation="batch",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/health\/ready",status="200"\} [1-9]/);

    // Spans are flushed under waitUntil after each response; give the exporter a moment.
    for (let i = 0; i < 50 && !spans.some((s) => s.name === "GET /health/ready"); i++) await Bun.sleep(100);
    const server = spans.find((s) => s.name === "GET /health/ready");
    expect(server).toBeDefined();
    const children = spans.filter((s) => s.traceId === server?.traceId && s.parentSpanId === server?.spanId);
    expect(children.map((s) => s.name)).toContain("db.select");
  });

  test("R2BlobStore round-trips through the BLOBS bucket", async () => {
    const store = new R2BlobStore((await w.mf.getR2Bucket("BLOBS")) as unknown as R2BucketLike);
    const body = new TextEncoder().encode("png-bytes");
    await store.put("org_1/shot.png", body, { contentType: "image/png" });
    expect(await store.get("org_1/shot.png")).toEqual({
      body,
      contentType: "image/png",
      size: body.byteLength,
    });
    await store.delete("org_1/shot.png");
    expect(await store.get("org_1/shot.png")).toBeNull();
  });

  test("bad configuration answers 503 problem+json and logs every problem", async () => {
    const broken = startWorker({ bindings: { JWT_SECRET: "", OPERATOR_TOKEN: "short" } });
    const res = await broken.fetch("/health/ready");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("STARTUP_FAILED");
    const logged = broken.logs.join("\n");
    for (const variable of ["JWT_SECRET", "OPERATOR_TOKEN", "DB"]) expect(logged).toContain(variable);
  });
});

describe("worker on a libSQL server (sqld, no D1 binding)", () => {
  if (!requires("sqld", !!sqldBinary(), "run npm run tools")) return;
  let sqld: SqldServer;
  let w: Worker;

  beforeAll(async () => {
    sqld = await startSqld();
    w = startWorker({ bindings: { DATABASE_URL: sqld.url } });
  });
  afterAll(async () => {
    await sqld?.stop();
  });

  test("/health/ready passes over @libsql/client/web", async () => {
    const res = await w.fetch("/health/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(body.checks.database?.status).toBe("pass");
    expect(body.checks.migrations?.status).toBe("pass");
  });

  test("OpenAPI document is served", async () => {
    const res = await w.fetch("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(Object.keys(((await res.json()) as { paths: object }).paths).length).toBeGreaterThan(3);
  });
});
