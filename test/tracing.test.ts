import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Server } from "bun";
import { tracedFetch } from "../src/http/middleware/telemetry";
import { createTestApp, type TestApp } from "./support/app";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const RUNS_ROUTE = "/api/v1/admin/jobs/:id/runs";

/** Waits (bounded, no fixed sleep) until the exporter holds a span matching `pred`. */
async function waitForSpan(
  t: TestApp,
  pred: (s: ReadableSpan) => boolean,
  what: string,
): Promise<ReadableSpan> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const found = t.spans.getFinishedSpans().find(pred);
    if (found) return found;
    if (Date.now() > deadline) {
      const names = t.spans.getFinishedSpans().map((s) => `${s.name}(${s.spanContext().traceId})`);
      throw new Error(`no span ${what}; finished: ${names.join(", ")}`);
    }
    await t.platform.drain();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const serverSpans = (t: TestApp, traceId: string) =>
  t.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId);

/** Walks parent links inside one trace: true when `span` descends from `ancestorId`. */
function descendsFrom(span: ReadableSpan, ancestorId: string, all: ReadableSpan[]): boolean {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  let parent = span.parentSpanContext?.spanId;
  for (let hops = 0; parent && hops < 50; hops++) {
    if (parent === ancestorId) return true;
    parent = byId.get(parent)?.parentSpanContext?.spanId;
  }
  return false;
}

describe("server spans", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("continue an incoming traceparent, named and labelled by the route template", async () => {
    t.spans.reset();
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/runs", {
      headers: { traceparent: TRACEPARENT },
    });
    expect(res.status).toBe(200);
    const span = await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(span.spanContext().spanId).not.toBe(PARENT_ID);
    expect(span.name).toBe(`GET ${RUNS_ROUTE}`);
    expect(span.attributes["http.route"]).toBe(RUNS_ROUTE);
    expect(span.attributes["http.request.method"]).toBe("GET");
    expect(span.attributes["http.response.status_code"]).toBe(200);
    expect(span.attributes["url.path"]).toBe("/api/v1/admin/jobs/db.optimize/runs");
    // The request id is on the span as it is on every log line of the request.
    expect(span.attributes["http.request.id"]).toBe(res.headers.get("x-request-id") as string);
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(span.ended).toBe(true);
    expect(serverSpans(t, TRACE_ID)).toHaveLength(1);
  });

  test("database spans of the request are children of its server span", async () => {
    t.spans.reset();
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/runs", {
      headers: { traceparent: TRACEPARENT },
    });
    expect(res.status).toBe(200);
    const server = await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
    const all = t.spans.getFinishedSpans();
    const db = all.filter((s) => s.name.startsWith("db."));
    expect(db.length).toBeGreaterThan(0);
    for (const span of db) {
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(descendsFrom(span, server.spanContext().spanId, all), span.name).toBe(true);
      expect(span.attributes["db.operation.name"]).toBeTruthy();
      expect(String(span.attributes["db.query.text"])).not.toBe("");
      // A child starts and ends within its parent.
      const [ps, pns] = server.startTime;
      const [cs, cns] = span.startTime;
      expect(cs * 1e9 + cns).toBeGreaterThanOrEqual(ps * 1e9 + pns);
    }
    expect(db.some((s) => s.name === "db.select")).toBe(true);
  });

  test("without traceparent a new trace starts at the server span", async () => {
    t.spans.reset();
    expect((await t.app.request("/api/v1/health")).status).toBe(200);
    const span = await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span.spanContext().traceId).not.toBe("0".repeat(32));
    expect(span.name).toBe("GET /api/v1/health");

    // Two requests, two traces.
    t.spans.reset();
    await t.app.request("/api/v1/health");
    await t.app.request("/api/v1/health");
    const ids = new Set(
      t.spans
        .getFinishedSpans()
        .filter((s) => s.kind === SpanKind.SERVER)
        .map((s) => s.spanContext().traceId),
    );
    expect(ids.size).toBe(2);
  });

  test("a malformed traceparent is ignored rather than trusted", async () => {
    t.spans.reset();
    await t.app.request("/api/v1/health", {
      headers: { traceparent: `00-${"0".repeat(32)}-${PARENT_ID}-01` },
    });
    const span = await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe("0".repeat(32));
  });

  test('unmatched paths get route "unmatched" and the status code', async () => {
    t.spans.reset();
    expect((await t.app.request("/api/v1/nothing/here/123")).status).toBe(404);
    const span = await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
    expect(span.attributes["http.route"]).toBe("unmatched");
    expect(span.attributes["http.response.status_code"]).toBe(404);
    expect(span.name).toBe("GET unmatched");
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR); // a 4xx is the client's problem, not ours
  });
});

describe("tracedFetch", () => {
  let t: TestApp;
  let echo: Server<undefined>;
  beforeAll(async () => {
    t = await createTestApp();
    // Echoes the trace headers it received, as a downstream service would see them.
    echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        Response.json({ traceparent: req.headers.get("traceparent"), custom: req.headers.get("x-custom") }),
    });
  });
  afterAll(async () => {
    echo.stop(true);
    await t.close();
  });

  test("sends traceparent carrying the current trace and the CLIENT span's id", async () => {
    t.spans.reset();
    const tracer = t.platform.tracer;
    const fetchTraced = tracedFetch(tracer);
    const { parentTraceId, parentSpanId, body } = await tracer.startActiveSpan(
      "test.parent",
      async (parent) => {
        try {
          const res = await fetchTraced(`http://127.0.0.1:${echo.port}/echo?q=secret`, {
            headers: { "x-custom": "kept" },
          });
          expect(res.status).toBe(200);
          return {
            parentTraceId: parent.spanContext().traceId,
            parentSpanId: parent.spanContext().spanId,
            body: (await res.json()) as { traceparent: string | null; custom: string | null },
          };
        } finally {
          parent.end();
        }
      },
    );
    const client = await waitForSpan(
      t,
      (s) => s.kind === SpanKind.CLIENT && !s.name.startsWith("db."),
      "of kind CLIENT",
    );
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/.exec(body.traceparent ?? "");
    expect(m, `echoed traceparent: ${body.traceparent}`).not.toBeNull();
    expect(m?.[1]).toBe(parentTraceId);
    expect(m?.[2]).toBe(client.spanContext().spanId);
    expect(m?.[2]).not.toBe(parentSpanId);
    expect(m?.[3]).toBe("1"); // sampled
    expect(body.custom).toBe("kept"); // the caller's own headers survive
    expect(client.spanContext().traceId).toBe(parentTraceId);
    expect(client.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(client.attributes["http.request.method"]).toBe("GET");
    expect(client.attributes["http.response.status_code"]).toBe(200);
    expect(client.attributes["url.full"]).toBe(`http://127.0.0.1:${echo.port}/echo`); // no query string
  });

  test("inside a request handler context, the downstream call joins the incoming trace", async () => {
    t.spans.reset();
    const fetchTraced = tracedFetch(t.platform.tracer);
    // What a handler does: it runs inside the server span's context.
    const server = t.platform.tracer.startSpan("GET /fake", { kind: SpanKind.SERVER });
    const res = await context.with(trace.setSpan(context.active(), server), () =>
      fetchTraced(`http://127.0.0.1:${echo.port}/`),
    );
    server.end();
    const body = (await res.json()) as { traceparent: string };
    expect(body.traceparent.split("-")[1]).toBe(server.spanContext().traceId);
    const client = await waitForSpan(
      t,
      (s) => s.kind === SpanKind.CLIENT && !s.name.startsWith("db."),
      "of kind CLIENT",
    );
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
  });

  test("a failed connection ends the CLIENT span with an error status", async () => {
    t.spans.reset();
    const fetchTraced = tracedFetch(t.platform.tracer);
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    await expect(fetchTraced(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    const client = await waitForSpan(
      t,
      (s) => s.kind === SpanKind.CLIENT && !s.name.startsWith("db."),
      "of kind CLIENT",
    );
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(client.events.some((e) => e.name === "exception")).toBe(true);
  });
});

describe("OTLP/HTTP export", () => {
  interface Received {
    path: string;
    method: string;
    contentType: string | null;
    body: Uint8Array;
  }
  const received: Received[] = [];
  let collector: Server<undefined>;
  beforeAll(() => {
    // A stand-in collector: records whatever arrives and answers like an OTLP receiver.
    collector = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        received.push({
          path: new URL(req.url).pathname,
          method: req.method,
          contentType: req.headers.get("content-type"),
          body: new Uint8Array(await req.arrayBuffer()),
        });
        const json = req.headers.get("content-type")?.includes("json");
        return json
          ? Response.json({})
          : new Response(new Uint8Array(), { headers: { "content-type": "application/x-protobuf" } });
      },
    });
  });
  afterAll(() => {
    collector.stop(true);
  });

  test("spans reach OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces when the platform closes", async () => {
    const t = await createTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}` });
    let closed = false;
    try {
      const res = await t.app.request("/api/v1/health", { headers: { traceparent: TRACEPARENT } });
      expect(res.status).toBe(200);
      await waitForSpan(t, (s) => s.kind === SpanKind.SERVER, "of kind SERVER");
      // The batch processor holds spans until its timer or shutdown; close() must flush it.
      await t.platform.close();
      closed = true;
    } finally {
      if (!closed) await t.close();
    }
    const posts = received.filter((r) => r.path === "/v1/traces" && r.method === "POST");
    expect(posts.length).toBeGreaterThan(0);
    const post = posts[0] as Received;
    expect(post.contentType).toMatch(/application\/(json|x-protobuf)/);
    expect(post.body.byteLength).toBeGreaterThan(0);
    const all = Buffer.concat(posts.map((p) => p.body));
    // Readable in both encodings: the resource's service name and the propagated trace id
    // (hex in JSON, raw bytes in protobuf).
    expect(all.includes(Buffer.from("teamtrack"))).toBe(true);
    expect(all.includes(Buffer.from(TRACE_ID)) || all.includes(Buffer.from(TRACE_ID, "hex"))).toBe(true);
    expect(all.includes(Buffer.from("/api/v1/health"))).toBe(true);
  });
});
