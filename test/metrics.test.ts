import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PromMetrics } from "../src/adapters/metrics/prom";
import { createTestApp, TEST_METRICS_TOKEN, TEST_OPERATOR_TOKEN, type TestApp } from "./support/app";
import { requires, which } from "./support/requirements";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (samples only; comments and blank lines skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include every pair in `labels`. */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

const metricsAuth = { authorization: `Bearer ${TEST_METRICS_TOKEN}` };

async function scrape(t: TestApp): Promise<{ res: Response; text: string; samples: Sample[] }> {
  const res = await t.app.request("/metrics", { headers: metricsAuth });
  const text = await res.text();
  return { res, text, samples: res.status === 200 ? parseExposition(text) : [] };
}

describe("/metrics exposition", () => {
  let t: TestApp;
  let before: Sample[];
  let after: { res: Response; text: string; samples: Sample[] };

  beforeAll(async () => {
    t = await createTestApp();
    before = (await scrape(t)).samples;
    expect((await t.asOperator("/api/v1/admin/jobs/db.optimize/runs")).status).toBe(200);
    expect((await t.asOperator("/api/v1/admin/jobs/db.optimize/runs?limit=5")).status).toBe(200);
    expect((await t.app.request("/api/v1/health")).status).toBe(200);
    expect((await t.app.request("/no/such/path-one")).status).toBe(404);
    expect((await t.app.request("/api/v1/no-such-thing/usr_123")).status).toBe(404);
    // Refused inside the request pipeline (a thrown 401, a 415 from the body checks).
    expect((await t.app.request("/api/v1/me", { headers: { authorization: "Bearer nope" } })).status).toBe(
      401,
    );
    const plain = { method: "POST", headers: { "content-type": "text/plain" }, body: "x" };
    expect((await t.app.request("/api/v1/projects", plain)).status).toBe(415);
    after = await scrape(t);
  });
  afterAll(() => t.close());

  test("answers 200 in the Prometheus text format, not cached", () => {
    expect(after.res.status).toBe(200);
    expect(after.res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(after.res.headers.get("cache-control")).toBe("no-store");
    expect(after.text).toContain("# TYPE http_requests_total counter");
    expect(after.text).toContain("# TYPE http_request_duration_seconds histogram");
  });

  test("labels HTTP requests by route template, never by raw path", () => {
    const { samples, text } = after;
    expect(
      sum(samples, "http_requests_total", {
        method: "GET",
        route: "/api/v1/admin/jobs/:id/runs",
        status: "200",
      }),
    ).toBe(2);
    expect(
      sum(samples, "http_requests_total", { method: "GET", route: "/api/v1/health", status: "200" }),
    ).toBe(1);
    // The job id and the query string belong to the request, not to the series.
    expect(text).not.toContain("db.optimize/runs");
    expect(text).not.toContain("limit=5");
    const routes = new Set(
      samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route as string),
    );
    const templates = new Set(t.app.routes.map((r) => r.path));
    for (const route of routes) expect(route === "unmatched" || templates.has(route), route).toBe(true);
  });

  test("a request refused before its handler counts against its route with the status that went out", () => {
    const { samples } = after;
    const me = { method: "GET", route: "/api/v1/me" };
    expect(sum(samples, "http_requests_total", { ...me, status: "401" })).toBe(1);
    expect(sum(samples, "http_requests_total", { ...me, status: "200" })).toBe(0);
    const create = { method: "POST", route: "/api/v1/projects" };
    expect(sum(samples, "http_requests_total", { ...create, status: "415" })).toBe(1);
  });

  test('counts every unknown path under the one route="unmatched" series', () => {
    const { samples, text } = after;
    expect(sum(samples, "http_requests_total", { route: "unmatched", status: "404" })).toBe(2);
    expect(text).not.toContain("path-one");
    expect(text).not.toContain("no-such-thing");
  });

  test("records request durations as a histogram per route", () => {
    const { samples } = after;
    const labels = { method: "GET", route: "/api/v1/admin/jobs/:id/runs", status: "200" };
    const buckets = samples.filter(
      (s) => s.name === "http_request_duration_seconds_bucket" && s.labels.route === labels.route,
    );
    expect(buckets.length).toBeGreaterThan(1);
    expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBe(2);
    expect(sum(samples, "http_request_duration_seconds_count", labels)).toBe(2);
    expect(sum(samples, "http_request_duration_seconds_sum", labels)).toBeGreaterThan(0);
  });

  test("records database query durations for the queries requests make", () => {
    const selectsBefore = sum(before, "db_query_duration_seconds_count", {
      operation: "select",
      outcome: "ok",
    });
    const selectsAfter = sum(after.samples, "db_query_duration_seconds_count", {
      operation: "select",
      outcome: "ok",
    });
    expect(after.text).toContain("# TYPE db_query_duration_seconds histogram");
    expect(selectsAfter).toBeGreaterThan(selectsBefore);
    expect(sum(after.samples, "db_query_duration_seconds_sum")).toBeGreaterThan(0);
    expect(
      after.samples.some(
        (s) => s.name === "db_query_duration_seconds_bucket" && s.labels.le === "+Inf" && s.value > 0,
      ),
    ).toBe(true);
  });

  test("counts a job run by job and outcome", async () => {
    const { samples: start } = await scrape(t);
    expect(sum(start, "job_runs_total", { job: "db.optimize" })).toBe(0);
    const run = await t.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wait: true }),
    });
    expect(run.status).toBe(200);
    expect(((await run.json()) as { status: string }).status).toBe("succeeded");
    const { samples } = await scrape(t);
    expect(sum(samples, "job_runs_total", { job: "db.optimize", status: "succeeded" })).toBe(1);
    expect(sum(samples, "job_runs_total", { job: "db.optimize", status: "failed" })).toBe(0);
    expect(sum(samples, "job_run_duration_seconds_count", { job: "db.optimize", status: "succeeded" })).toBe(
      1,
    );
    expect(
      sum(samples, "http_requests_total", {
        method: "POST",
        route: "/api/v1/admin/jobs/:id/run",
        status: "200",
      }),
    ).toBe(1);
  });

  if (requires("promtool", !!which("promtool"), "apt-get install -y --no-install-recommends prometheus")) {
    test("passes `promtool check metrics` with no lint findings", async () => {
      const { text } = await scrape(t);
      const proc = Bun.spawn([which("promtool") as string, "check", "metrics"], {
        stdin: Buffer.from(text),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(`${out}${err}`.trim()).toBe("");
      expect(code).toBe(0);
    });
  }
});

describe("/metrics access", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("without a token: 401 problem+json with a Bearer challenge", async () => {
    const res = await t.app.request("/metrics");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    const body = (await res.json()) as { status: number; code: string };
    expect(body.status).toBe(401);
    expect(body.code).toBe("UNAUTHORIZED");
  });

  test("with a wrong token: 401 and no metrics", async () => {
    for (const authorization of [`Bearer ${TEST_METRICS_TOKEN}x`, "Bearer nope", `Basic ${btoa("a:b")}`]) {
      const res = await t.app.request("/metrics", { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(await res.text()).not.toContain("http_requests_total");
    }
  });

  test("the operator token is accepted too", async () => {
    const res = await t.app.request("/metrics", {
      headers: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
    });
    expect(res.status).toBe(200);
  });

  test("the metrics token opens nothing beyond monitoring", async () => {
    const res = await t.app.request("/api/v1/admin/jobs", { headers: metricsAuth });
    expect(res.status).toBe(403);
  });

  test("METRICS_TOKEN unset (an empty value counts as unset): /metrics is 404, even for the operator", async () => {
    const off = await createTestApp({ METRICS_TOKEN: "" });
    try {
      expect(off.platform.config.METRICS_TOKEN).toBeUndefined();
      for (const headers of [{}, metricsAuth, { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` }]) {
        const res = await off.app.request("/metrics", { headers });
        expect(res.status).toBe(404);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
      }
    } finally {
      await off.close();
    }
  });
});

describe("HTTP request metrics (PromMetrics.httpRequest)", () => {
  test("cumulative buckets with inclusive upper bounds, _sum and _count, one counter per label set", async () => {
    const m = new PromMetrics({ instance: "a" });
    const labels = { method: "GET", route: "/api/v1/me", status: 200 };
    for (const seconds of [0.001, 0.0011, 0.3, 20]) m.httpRequest(labels, seconds);
    m.httpRequest({ ...labels, status: 404 }, 0.002);
    const samples = parseExposition(await m.render());
    const ok = { method: "GET", route: "/api/v1/me", status: "200", instance: "a" };
    const bucket = (le: string) => sum(samples, "http_request_duration_seconds_bucket", { ...ok, le });
    expect(bucket("0.001")).toBe(1); // a value equal to a bound counts in that bucket (le = "less or equal")
    expect(bucket("0.0025")).toBe(2);
    expect(bucket("0.25")).toBe(2);
    expect(bucket("0.5")).toBe(3);
    expect(bucket("10")).toBe(3);
    expect(bucket("+Inf")).toBe(4);
    expect(sum(samples, "http_request_duration_seconds_count", ok)).toBe(4);
    expect(sum(samples, "http_request_duration_seconds_sum", ok)).toBeCloseTo(20.3021, 6);
    expect(sum(samples, "http_requests_total", ok)).toBe(4);
    expect(sum(samples, "http_requests_total", { ...ok, status: "404" })).toBe(1);
  });

  test('past 10,000 label sets, new ones count under route="other" instead of growing without bound', async () => {
    const m = new PromMetrics();
    for (let i = 0; i < 10_000; i++) m.httpRequest({ method: "GET", route: `/r/${i}`, status: 200 }, 0.01);
    m.httpRequest({ method: "GET", route: "/one-too-many", status: 200 }, 0.01);
    m.httpRequest({ method: "GET", route: "/r/5", status: 200 }, 0.01); // an existing series still counts as itself
    const samples = parseExposition(await m.render());
    expect(sum(samples, "http_requests_total", { route: "other" })).toBe(1);
    expect(sum(samples, "http_requests_total", { route: "/one-too-many" })).toBe(0);
    expect(sum(samples, "http_requests_total", { route: "/r/5" })).toBe(2);
  });
});
