import { afterAll, describe, expect, test } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { ZodType } from "zod";
import { xxh3Hex } from "../src/adapters/digest/xxh3";
import { deprecated } from "../src/http/middleware/api";
import { rateLimit } from "../src/http/middleware/rate-limit";
import { DOCS_CSP } from "../src/modules/docs/docs.handlers";
import { createTestApp, TEST_OPERATOR_TOKEN } from "./support/app";

const t = await createTestApp({ CORS_ORIGINS: "https://app.example.com" });
// Routes only this test needs, registered before the first request (Hono builds its router then).
t.app.get("/api/v1/test/boom", () => {
  throw new Error("db exploded: SELECT secret FROM users WHERE password='hunter2'");
});
t.app.get("/api/v1/test/limited", rateLimit({ name: "test", window: 60_000, max: 2, key: () => "k" }), (c) =>
  c.json({ ok: true }),
);
t.app.get(
  "/api/v1/test/old",
  deprecated({
    since: new Date("2026-06-01T00:00:00Z"),
    sunset: new Date("2027-01-01T00:00:00Z"),
    successor: "/api/v1/health",
  }),
  (c) => c.json({ ok: true }),
);
t.app.get("/api/v1/test/big", (c) =>
  c.json({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) }),
);
// 400 characters of three UTF-8 bytes each: under 1 KiB counted in characters, over it in bytes.
t.app.get("/api/v1/test/wide", (c) => c.json({ text: "€".repeat(400) }));
// A route with its own version tag, and one that states its status through c.status().
t.app.get("/api/v1/test/tagged", (c) => c.json({ v: 7 }, 200, { ETag: '"v7"' }));
t.app.get("/api/v1/test/status", (c) => {
  c.status(200);
  return c.json({ via: "c.status" });
});
// A handler that returns a Response it made itself; one that sets a header after building its answer;
// one that overrides a header of the standard set; one that deletes one.
t.app.get(
  "/api/v1/test/raw",
  () => new Response("raw", { headers: { "Content-Type": "text/plain", Vary: "Cookie" } }),
);
t.app.get("/api/v1/test/late", (c) => {
  const res = c.json({ late: true });
  c.header("X-Late", "yes");
  return res;
});
t.app.get("/api/v1/test/public", (c) => {
  c.header("Cache-Control", "public, max-age=5");
  c.header("X-Frame-Options", undefined);
  return c.json({ ok: true });
});
afterAll(() => t.close());

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.status).toBe(res.status);
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(body.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
  expect(body.requestId).toBe(res.headers.get("x-request-id") as string);
  return body;
}

describe("problem+json errors", () => {
  test("404 for an unknown path", async () => {
    const res = await t.app.request("/api/v1/nope");
    expect(res.status).toBe(404);
    expect((await problem(res)).code).toBe("NOT_FOUND");
  });

  test("405 with Allow for a known path and the wrong method", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect((await problem(res)).code).toBe("METHOD_NOT_ALLOWED");
  });

  test("413 when the body exceeds the limit", async () => {
    const small = await createTestApp({ BODY_LIMIT_BYTES: "2048" });
    const res = await small.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wait: true, pad: "x".repeat(4096) }),
    });
    expect(res.status).toBe(413);
    expect((await problem(res)).code).toBe("PAYLOAD_TOO_LARGE");
    await small.close();
  });

  test("415 for a non-JSON body", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "wait=true",
    });
    expect(res.status).toBe(415);
    expect((await problem(res)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  test("422 names each bad field; unknown properties are refused", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wait: "yes", role: "admin" }),
    });
    expect(res.status).toBe(422);
    const body = await problem(res);
    expect(body.code).toBe("VALIDATION_FAILED");
    const paths = (body.errors as { path: string; code: string; location: string }[])
      .map((e) => e.path)
      .sort();
    expect(paths).toEqual(["role", "wait"]);
    // Nothing ran: the refused request wrote no job run.
    const runs = await (await t.asOperator("/api/v1/admin/jobs/db.optimize/runs")).json();
    expect(runs.data).toEqual([]);
  });

  test("422 for a bad query parameter", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/runs?limit=1000");
    expect(res.status).toBe(422);
    const body = await problem(res);
    expect((body.errors as { path: string; location: string }[])[0]).toMatchObject({
      path: "limit",
      location: "query",
    });
  });

  test("400 for malformed JSON", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe("MALFORMED_JSON");
  });

  test("429 with Retry-After and RateLimit fields", async () => {
    const ok = await t.app.request("/api/v1/test/limited");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit-policy")).toBe('"test";q=2;w=60');
    expect(ok.headers.get("ratelimit")).toBe('"test";r=1;t=60');
    await t.app.request("/api/v1/test/limited");
    const res = await t.app.request("/api/v1/test/limited");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.headers.get("ratelimit")).toBe('"test";r=0;t=60');
    expect((await problem(res)).code).toBe("RATE_LIMITED");
  });

  test("500 hides the cause from the client; the log line with its requestId has it", async () => {
    const res = await t.app.request("/api/v1/test/boom", { headers: { "x-request-id": "req-boom-0001" } });
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toContain("exploded");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("at ");
    const body = await problem(res);
    expect(body.requestId).toBe("req-boom-0001");
    const line = t.logs.lines.find((l) => l.requestId === "req-boom-0001" && l.msg === "request failed") as {
      err: { message: string; stack: string };
    };
    expect(line.err.message).toContain("db exploded");
    expect(line.err.stack).toContain("http.test.ts");
  });
});

describe("request handling", () => {
  test("X-Request-Id is taken from the client when well formed, generated otherwise", async () => {
    const kept = await t.app.request("/api/v1/health", { headers: { "x-request-id": "client-id_123" } });
    expect(kept.headers.get("x-request-id")).toBe("client-id_123");
    const replaced = await t.app.request("/api/v1/health", {
      headers: { "x-request-id": "bad id\u0001<script>" },
    });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const line = t.logs.lines.find((l) => l.requestId === "client-id_123");
    expect(line).toBeDefined();
  });

  test("API-Version on every response; unsupported Accept-Version is refused", async () => {
    expect(
      (await t.app.request("/api/v1/health", { headers: { "accept-version": "1" } })).headers.get(
        "api-version",
      ),
    ).toBe("1");
    const res = await t.app.request("/api/v1/health", { headers: { "accept-version": "7" } });
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe("UNSUPPORTED_API_VERSION");
  });

  test("security headers, private caching by default", async () => {
    const res = await t.app.request("/api/v1/health");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("strict-transport-security")).toBeNull(); // not in development/test
    const prod = await createTestApp({ NODE_ENV: "production", CORS_ORIGINS: "https://a.example" });
    expect((await prod.app.request("/api/v1/health")).headers.get("strict-transport-security")).toContain(
      "max-age=",
    );
    await prod.close();
  });

  test("an API answer carries the JSON API set; the HTML docs page the full browser set and its own CSP", async () => {
    const api = await t.app.request("/api/v1/health");
    expect(api.headers.get("vary")).toBe("Origin, Accept-Version, Accept-Encoding");
    // Browser-document headers are for the docs page, not JSON answers.
    for (const name of [
      "cross-origin-opener-policy",
      "origin-agent-cluster",
      "x-dns-prefetch-control",
      "x-xss-protection",
    ])
      expect(api.headers.get(name)).toBeNull();
    const docs = await t.app.request("/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
    expect(docs.headers.get("content-security-policy")).toBe(DOCS_CSP);
    expect(docs.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(docs.headers.get("cross-origin-resource-policy")).toBe("same-site");
    expect(docs.headers.get("x-xss-protection")).toBe("0");
    expect(docs.headers.get("x-frame-options")).toBe("DENY");
    expect(docs.headers.get("x-content-type-options")).toBe("nosniff");
    expect(docs.headers.get("referrer-policy")).toBe("no-referrer");
    expect(docs.headers.get("api-version")).toBeNull(); // not an API answer
    // A route may still override a default: the OpenAPI document is publicly cacheable.
    expect((await t.app.request("/api/v1/openapi.json")).headers.get("cache-control")).toBe(
      "public, max-age=60",
    );
  });

  test("CORS allows only CORS_ORIGINS, with credentials and a cached preflight", async () => {
    const pre = await t.app.request("/api/v1/admin/jobs", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");
    expect(pre.headers.get("access-control-max-age")).toBe("600");
    const evil = await t.app.request("/api/v1/health", { headers: { origin: "https://evil.example" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const simple = await t.app.request("/api/v1/health", { headers: { origin: "https://app.example.com" } });
    expect(simple.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(simple.headers.get("access-control-allow-credentials")).toBe("true");
    expect(simple.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(simple.headers.get("vary")?.match(/Origin/g)).toHaveLength(1);
    // No Origin, not a CORS request: no CORS fields, but the answer still varies by Origin for caches.
    const plain = await t.app.request("/api/v1/health");
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    expect(plain.headers.get("access-control-allow-credentials")).toBeNull();
    expect(plain.headers.get("vary")).toContain("Origin");
    // OPTIONS without an Origin still gets the 204 it always got.
    expect((await t.app.request("/api/v1/health", { method: "OPTIONS" })).status).toBe(204);
  });

  test("responses over 1 KiB are compressed (gzip, or br when ranked higher) on request; small ones are not", async () => {
    const both = await t.app.request("/api/v1/test/big", {
      headers: { "accept-encoding": "gzip, deflate, br" },
    });
    expect(both.headers.get("content-encoding")).toBe("gzip");
    const br = await t.app.request("/api/v1/test/big", { headers: { "accept-encoding": "br, gzip;q=0.5" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(
      JSON.parse(brotliDecompressSync(new Uint8Array(await br.arrayBuffer())).toString()).items,
    ).toHaveLength(200);
    const big = await t.app.request("/api/v1/test/big", { headers: { "accept-encoding": "gzip" } });
    expect(big.headers.get("content-encoding")).toBe("gzip");
    const json = JSON.parse(new TextDecoder().decode(gunzipSync(new Uint8Array(await big.arrayBuffer()))));
    expect(json.items).toHaveLength(200);
    const small = await t.app.request("/api/v1/health", { headers: { "accept-encoding": "gzip" } });
    expect(small.headers.get("content-encoding")).toBeNull();
    expect(small.headers.get("vary")?.match(/Accept-Encoding/g)).toHaveLength(1);
    // Sized in bytes, not characters: 400 three-byte characters (~1.2 KiB) are compressed.
    const wide = await t.app.request("/api/v1/test/wide", { headers: { "accept-encoding": "gzip" } });
    expect(wide.headers.get("content-encoding")).toBe("gzip");
    expect(JSON.parse(gunzipSync(new Uint8Array(await wide.arrayBuffer())).toString()).text).toBe(
      "€".repeat(400),
    );
  });

  test("ETag and If-None-Match give 304 on GET", async () => {
    const first = await t.app.request("/api/v1/openapi.json");
    const tag = first.headers.get("etag");
    expect(tag).toBeTruthy();
    const again = await t.app.request("/api/v1/openapi.json", {
      headers: { "if-none-match": tag as string },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  test("a JSON answer is tagged from its text as built: the XXH3-64 of the body bytes; errors are not tagged", async () => {
    const res = await t.app.request("/api/v1/health");
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = await res.text();
    const tag = `"${xxh3Hex(body)}"`;
    expect(res.headers.get("etag")).toBe(tag);
    const again = await t.app.request("/api/v1/health", { headers: { "if-none-match": tag } });
    expect(again.status).toBe(304);
    const missing = await t.app.request("/api/v1/no-such-route");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("etag")).toBeNull();
  });

  test("a route's own ETag is kept; an answer whose status came from c.status() is tagged too", async () => {
    const tagged = await t.app.request("/api/v1/test/tagged");
    expect(tagged.headers.get("etag")).toBe('"v7"');
    expect(
      (await t.app.request("/api/v1/test/tagged", { headers: { "if-none-match": '"v7"' } })).status,
    ).toBe(304);
    const viaStatus = await t.app.request("/api/v1/test/status");
    const tag = viaStatus.headers.get("etag");
    expect(tag).toBe(`"${xxh3Hex(await viaStatus.text())}"`);
    expect((await t.app.request("/api/v1/test/status", { headers: { "if-none-match": tag! } })).status).toBe(
      304,
    );
  });

  test("If-None-Match: a list, a weak form of our tag, or * gives 304 with the cache fields; another tag gives 200", async () => {
    const tag = (await t.app.request("/api/v1/health")).headers.get("etag")!;
    for (const ifNoneMatch of [`"nope", ${tag}`, `W/${tag}`, "*"]) {
      const res = await t.app.request("/api/v1/health", { headers: { "if-none-match": ifNoneMatch } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(tag);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(res.headers.get("vary")).toContain("Accept-Version");
      expect(res.headers.get("content-type")).toBeNull();
    }
    const other = await t.app.request("/api/v1/health", { headers: { "if-none-match": '"nope"' } });
    expect(other.status).toBe(200);
    expect(other.headers.get("etag")).toBe(tag);
    // Only reads are conditional: a POST answer is neither tagged nor turned into a 304.
    const post = await t.app.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "if-none-match": "*" },
      body: JSON.stringify({ email: "nobody@example.com", password: "x" }),
    });
    expect(post.status).not.toBe(304);
    expect(post.headers.get("etag")).toBeNull();
  });

  test("error answers carry the same API headers as successful ones (API-Version, Vary, X-Request-Id)", async () => {
    for (const res of [
      await t.app.request("/api/v1/me"), // 401
      await t.app.request("/api/v1/no-such-route"), // 404
      await t.app.request("/api/v1/health"), // 200
    ]) {
      expect(res.headers.get("api-version")).toBe("1");
      expect(res.headers.get("x-request-id")).toBeTruthy();
      expect(res.headers.get("vary")).toContain("Accept-Version");
      expect(res.headers.get("vary")).toContain("Origin");
    }
  });

  test("every answer gets the standard headers: a Response a handler made, a 304, a header set after building", async () => {
    const standard = (res: Response) => {
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("api-version")).toBe("1");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    };
    const raw = await t.app.request("/api/v1/test/raw", { headers: { "x-request-id": "raw-1" } });
    expect(raw.headers.get("x-request-id")).toBe("raw-1");
    expect(raw.headers.get("api-version")).toBe("1");
    expect(raw.headers.get("cache-control")).toBe("private, no-store");
    // Its own headers stay; its Vary gains ours rather than losing either.
    expect(raw.headers.get("content-type")).toBe("text/plain");
    expect(raw.headers.get("vary")).toBe("Cookie, Origin, Accept-Version, Accept-Encoding");
    expect(await raw.text()).toBe("raw");
    const tag = (await t.app.request("/api/v1/health")).headers.get("etag")!;
    const notModified = await t.app.request("/api/v1/health", {
      headers: { "if-none-match": tag, "x-request-id": "cond-1" },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("x-request-id")).toBe("cond-1");
    const late = await t.app.request("/api/v1/test/late");
    standard(late);
    expect(late.headers.get("x-late")).toBe("yes");
    expect(await late.json()).toEqual({ late: true });
    const own = await t.app.request("/api/v1/test/public");
    standard(own);
    expect(own.headers.get("cache-control")).toBe("public, max-age=5");
    expect(own.headers.has("x-frame-options")).toBe(false);
    // The prebuilt set itself is untouched by what one answer changed.
    const next = await t.app.request("/api/v1/health");
    expect(next.headers.get("cache-control")).toBe("private, no-store");
    expect(next.headers.get("x-frame-options")).toBe("DENY");
    expect(next.headers.get("x-late")).toBeNull();
  });

  test("deprecated routes carry Deprecation, Sunset and a successor Link", async () => {
    const res = await t.app.request("/api/v1/test/old");
    expect(res.headers.get("deprecation")).toBe(`@${Date.parse("2026-06-01T00:00:00Z") / 1000}`);
    expect(res.headers.get("sunset")).toBe("Fri, 01 Jan 2027 00:00:00 GMT");
    expect(res.headers.get("link")).toBe('</api/v1/health>; rel="successor-version"');
  });

  test("credentials never reach the logs", async () => {
    const secrets = [
      "Bearer sk_live_abcdef123456",
      "session=tok_9f8e7d6c5b4a",
      "hunter2-password",
      "rt_refresh_secret_value",
    ];
    await t.app.request("/api/v1/health", {
      headers: {
        authorization: secrets[0] as string,
        cookie: secrets[1] as string,
        "x-api-key": "key_should_hide_1234",
      },
    });
    t.platform.logger.info(
      { user: { password: secrets[2], refreshToken: secrets[3] }, token: "tok_top_level_5678" },
      "ad-hoc object",
    );
    t.platform.logger.flush();
    const text = t.logs.text();
    for (const s of [
      ...secrets,
      "sk_live_abcdef123456",
      "tok_9f8e7d6c5b4a",
      "key_should_hide_1234",
      "tok_top_level_5678",
    ])
      expect(text).not.toContain(s);
    expect(text).toContain("[REDACTED]");
    expect(text).toContain("ad-hoc object");
  });
});

describe("operator routes", () => {
  test("admin routes need the operator token", async () => {
    const anon = await t.app.request("/api/v1/admin/jobs");
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toContain("Bearer");
    await problem(anon);
    const wrong = await t.app.request("/api/v1/admin/jobs", {
      headers: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}x` },
    });
    expect(wrong.status).toBe(401);
    const metricsToken = await t.app.request("/api/v1/admin/jobs", {
      headers: { authorization: "Bearer metrics_test_token_0123456789" },
    });
    expect(metricsToken.status).toBe(403);
  });
});

describe("body validation parses synchronously (syncFirst)", () => {
  test("same data and same issues as zod's async parse; an async refinement still works", async () => {
    const { z } = await import("@hono/zod-openapi");
    const { syncFirst } = await import("../src/http/fields");
    const { IngestHeartbeatsBody } = await import("../src/modules/activity/activity.routes");
    const reference = IngestHeartbeatsBody.clone();
    const schema = syncFirst(IngestHeartbeatsBody.clone());
    const hb = { id: "a", time: "2026-03-02T09:15:30Z", duration: 30, app: " Code ", idle: false };
    const good = { heartbeats: [hb] };
    const bad = {
      heartbeats: [
        { ...hb, time: "yesterday", colour: "red" },
        { ...hb, duration: -1 },
      ],
    };
    // Inputs without unknown properties go to the loose twin (strict objects' slow path skipped),
    // the others to the strict schema: either way the same data and issues as zod's own parse.
    const inputs = [
      good,
      bad,
      null,
      { heartbeats: [] },
      { heartbeats: [{ ...hb, duration: -1, app: "" }, "x", null] },
      { heartbeats: [hb, { ...hb, colour: "red" }] },
      { heartbeats: [hb], extra: 1 },
      JSON.parse(
        `{"heartbeats":[{"id":"a","time":"2026-03-02T09:15:30Z","duration":1,"app":"A","idle":false,"__proto__":{"x":1}}]}`,
      ),
      { heartbeats: "none" },
    ];
    for (const input of inputs) {
      expect(await schema.safeParseAsync(input)).toEqual(await reference.safeParseAsync(input));
    }
    expect((await schema.safeParseAsync(good)).data?.heartbeats[0]?.app).toBe("Code");

    // The twin is loose (strips what the strict schema refuses) and the key walk finds unknown
    // properties at any depth, so such inputs never reach the twin.
    const { loosen } = await import("../src/http/fields");
    const { twin: loose, keysKnown: known } = loosen(reference);
    const twin = loose as typeof reference;
    expect(twin).not.toBe(reference);
    expect(twin.safeParse({ heartbeats: [{ ...hb, colour: "red" }], extra: 1 }).data).toEqual(
      reference.safeParse(good).data,
    );
    expect(reference.safeParse({ heartbeats: [hb], extra: 1 }).success).toBe(false);
    expect(inputs.map((i) => known?.(i))).toEqual([true, false, true, true, true, false, false, false, true]);
    const plain = z.object({ a: z.string() });
    expect(loosen(plain).twin).toBe(plain);
    expect(loosen(plain).keysKnown).toBeNull();

    // Non-strict objects keep their catchall around a strict one; recursive schemas build (inner
    // levels stay strict). Each parsed the same as zod's own parse.
    const inner = z.strictObject({ b: z.string() });
    type Node = { name: string; kids?: Node[] };
    const node: ZodType<Node> = z.strictObject({
      name: z.string(),
      get kids() {
        return z.array(node).optional();
      },
    });
    const cases: [ZodType, unknown[]][] = [
      [z.looseObject({ a: inner }), [{ a: { b: "x" }, extra: 1 }, { a: { b: "x", c: 1 } }]],
      [
        z.object({ a: inner }).catchall(z.number()),
        [
          { a: { b: "x" }, extra: "s" },
          { a: { b: "x" }, n: 2 },
        ],
      ],
      [
        node,
        [
          { name: "r", kids: [{ name: "k", kids: [] }] },
          { name: "r", kids: [{ name: "k", x: 1 }] },
          { name: "r", x: 1 },
        ],
      ],
    ];
    for (const [base, values] of cases) {
      const fast = syncFirst(base.clone());
      for (const v of values) expect(await fast.safeParseAsync(v)).toEqual(base.clone().safeParse(v));
    }

    let checked = 0;
    const slow = syncFirst(
      z.object({ name: z.string() }).refine(async (v) => {
        checked++;
        return v.name !== "taken";
      }, "taken"),
    );
    expect((await slow.safeParseAsync({ name: "free" })).success).toBe(true);
    expect((await slow.safeParseAsync({ name: "taken" })).success).toBe(false);
    // The first parse found the refinement async (it ran, then again in the async parse); later
    // parses go straight to the async parse.
    expect(checked).toBe(3);
  });
});
